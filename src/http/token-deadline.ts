// The moment a stream's token expires: one timer per stream, moved on by a refreshed token, shared by every transport.
import { AppError } from '../errors.js'
import type { VerifiedToken } from './token-verifier.js'

/** The CONTRACT's WebSocket close code for "token expired": reconnect with a fresh token and `after`. */
export const CLOSE_TOKEN_EXPIRED = 4401
/** setTimeout's ceiling (about 24.8 days); a longer-lived token re-arms the timer when it fires. */
const MAX_TIMER_MS = 2 ** 31 - 1

/**
 * A stream outlives no token: at `exp` (no leeway: that is for clock skew on one-shot requests)
 * the transport's onExpire ends it the way its clients understand (SSE `event: reauth`, WebSocket
 * close 4401), unless refresh() has moved the deadline on first.
 */
export class TokenDeadline {
  #expiresAtMs: number
  #timer: NodeJS.Timeout | null = null
  readonly #onExpire: () => void

  constructor(expiresAtMs: number, onExpire: () => void) {
    this.#expiresAtMs = expiresAtMs
    this.#onExpire = onExpire
    this.#arm()
  }

  get expiresAtMs(): number {
    return this.#expiresAtMs
  }

  /** ms until expiry (≤ 0 once expired). */
  remainingMs(now = Date.now()): number {
    return this.#expiresAtMs - now
  }

  /** A fresh token was verified for this stream. */
  refresh(token: VerifiedToken): void {
    this.#expiresAtMs = token.expiresAtMs
    this.#arm()
  }

  cancel(): void {
    if (this.#timer) clearTimeout(this.#timer)
    this.#timer = null
  }

  #arm(): void {
    this.cancel()
    const delay = this.remainingMs()
    this.#timer = setTimeout(() => this.#fire(), Math.max(0, Math.min(delay, MAX_TIMER_MS)))
    this.#timer.unref()
  }

  #fire(): void {
    this.#timer = null
    if (this.remainingMs() > 0) return this.#arm()
    this.#onExpire()
  }
}

/** The token, if it has not expired yet; streams are opened and refreshed only with those. */
export function expiringToken(token: VerifiedToken, now = Date.now()): VerifiedToken {
  if (token.expiresAtMs <= now) throw new AppError('E_UNAUTHORIZED', 'token expired')
  return token
}

// The moment a stream's token expires: one shared timer for every stream (a deadline wheel), moved on by a refreshed token.
import { AppError } from '../errors.js'
import type { VerifiedToken } from './token-verifier.js'

/** The CONTRACT's WebSocket close code for "token expired": reconnect with a fresh token and `after`. */
export const CLOSE_TOKEN_EXPIRED = 4401
/** setTimeout's ceiling (about 24.8 days); a longer-lived deadline re-arms the timer when it fires. */
const MAX_TIMER_MS = 2 ** 31 - 1

/**
 * Every open stream's deadline, on one timer armed for the earliest. A timer per stream cost each of
 * 10,000 idle connections a Timeout, its closure and a timer-list slot; here a stream is one Set entry
 * in the bucket of its expiry instant (tokens expire on whole seconds, so buckets are shared).
 * The timer is cleared when no deadline is left, so nothing outlives the streams.
 */
export class DeadlineWheel {
  readonly #buckets = new Map<number, Set<TokenDeadline>>()
  #timer: NodeJS.Timeout | null = null
  /** The instant the timer is armed for. */
  #armedAt = Infinity

  /** Deadlines waiting (for tests and stats). */
  get size(): number {
    let size = 0
    for (const bucket of this.#buckets.values()) size += bucket.size
    return size
  }

  /** @internal TokenDeadline's own bookkeeping. */
  add(deadline: TokenDeadline): void {
    const at = deadline.expiresAtMs
    let bucket = this.#buckets.get(at)
    if (!bucket) this.#buckets.set(at, (bucket = new Set()))
    bucket.add(deadline)
    if (at < this.#armedAt) this.#arm(at)
  }

  /** @internal */
  remove(deadline: TokenDeadline, at: number): void {
    const bucket = this.#buckets.get(at)
    if (!bucket?.delete(deadline) || bucket.size > 0) return
    this.#buckets.delete(at)
    // The timer left armed for an emptied bucket just fires and re-arms; an empty wheel holds none.
    if (this.#buckets.size === 0) this.#disarm()
  }

  #arm(at: number): void {
    this.#disarm()
    this.#armedAt = at
    this.#timer = setTimeout(() => this.#fire(), Math.max(0, Math.min(at - Date.now(), MAX_TIMER_MS)))
    this.#timer.unref()
  }

  #disarm(): void {
    if (this.#timer) clearTimeout(this.#timer)
    this.#timer = null
    this.#armedAt = Infinity
  }

  #fire(): void {
    this.#timer = null
    this.#armedAt = Infinity
    const now = Date.now()
    const due: TokenDeadline[] = []
    for (const [at, bucket] of this.#buckets) {
      if (at > now) continue
      this.#buckets.delete(at)
      due.push(...bucket)
    }
    // A callback may refresh or cancel other deadlines: each is checked again as it fires.
    for (const deadline of due) deadline.expired(now)
    let next = Infinity
    for (const at of this.#buckets.keys()) if (at < next) next = at
    if (next !== Infinity && next < this.#armedAt) this.#arm(next)
  }
}

/**
 * A stream outlives no token: at `exp` (no leeway: that is for clock skew on one-shot requests)
 * the transport's onExpire ends it the way its clients understand (SSE `event: reauth`, WebSocket
 * close 4401), unless refresh() has moved the deadline on first.
 */
export class TokenDeadline {
  #expiresAtMs: number
  #waiting = false
  readonly #wheel: DeadlineWheel
  readonly #owner: { onExpire(): void }

  /** `owner.onExpire()` is called at the deadline (an object, not a closure: one less per stream). */
  constructor(wheel: DeadlineWheel, expiresAtMs: number, owner: { onExpire(): void }) {
    this.#wheel = wheel
    this.#expiresAtMs = expiresAtMs
    this.#owner = owner
    this.#wait()
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
    this.cancel()
    this.#expiresAtMs = token.expiresAtMs
    this.#wait()
  }

  cancel(): void {
    if (this.#waiting) this.#wheel.remove(this, this.#expiresAtMs)
    this.#waiting = false
  }

  /** @internal Called by the wheel once its bucket is due (and already removed from it). */
  expired(now: number): void {
    // Refreshed (moved to a later bucket) by an earlier callback of the same batch: not due.
    if (!this.#waiting || this.#expiresAtMs > now) return
    this.#waiting = false
    this.#owner.onExpire()
  }

  #wait(): void {
    this.#waiting = true
    this.#wheel.add(this)
  }
}

/** The token, if it has not expired yet; streams are opened and refreshed only with those. */
export function expiringToken(token: VerifiedToken, now = Date.now()): VerifiedToken {
  if (token.expiresAtMs <= now) throw new AppError('E_UNAUTHORIZED', 'token expired')
  return token
}

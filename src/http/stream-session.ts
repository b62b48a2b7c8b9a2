// One realtime stream's bounds, the same on SSE, WebSocket and graphql-ws: its slot, its token's deadline, its drop, one close.
import { AppError, isAppError } from '../errors.js'
import type { StreamKind, StreamLease, StreamLimits } from './stream-limits.js'
import { expiringToken, TokenDeadline, type DeadlineWheel } from './token-deadline.js'
import type { VerifiedToken } from './token-verifier.js'

/** How the transport ends its stream, in the words its clients understand. */
export interface StreamEnds {
  /** The token expired (SSE `event: reauth`, WebSocket close 4401). */
  onExpire: () => void
  /** The reader fell too far behind (SSE ends, WebSocket close 4408): it reconnects with its cursor. */
  onDrop: () => void
}

/**
 * ```
 *   open ──(token expired, or no slot: throws 401 / 429 before anything starts)
 *    │
 *    ▼
 *   live ──refresh(token)──► live (deadline moved on)
 *    │  ├─ token's exp ─────► onExpire ─┐
 *    │  └─ drop() ──────────► onDrop ───┤ (the transport closes its connection)
 *    ▼                                  ▼
 *   close() ◄──────── the connection's close event (idempotent: slot released, timer cancelled once)
 * ```
 */
export class StreamSession {
  readonly #lease: StreamLease
  readonly #deadline: TokenDeadline
  readonly #ends: StreamEnds
  #closed = false
  #dropped = false

  private constructor(lease: StreamLease, deadlines: DeadlineWheel, token: VerifiedToken, ends: StreamEnds) {
    this.#lease = lease
    this.#ends = ends
    this.#deadline = new TokenDeadline(deadlines, token.expiresAtMs, ends)
  }

  /** Throws E_UNAUTHORIZED for an expired token and E_TOO_MANY_STREAMS without a slot; nothing is held then. */
  static open(streams: StreamLimits, token: VerifiedToken, kind: StreamKind, ends: StreamEnds): StreamSession {
    const live = expiringToken(token)
    return new StreamSession(streams.open(live.caller, kind), streams.deadlines, live, ends)
  }

  /** How far (bytes) this stream's reader may fall behind before it is dropped. */
  get backlogBytes(): number {
    return this.#lease.backlogBytes
  }

  get expiresAtMs(): number {
    return this.#deadline.expiresAtMs
  }

  /** A fresh token for this stream (WebSocket `auth`, graphql-ws ping): the deadline moves on. */
  refresh(token: VerifiedToken): void {
    this.#deadline.refresh(token)
  }

  /** The reader is too far behind: counted, then the transport ends the stream. */
  drop(): void {
    if (this.#closed || this.#dropped) return
    this.#dropped = true
    this.#lease.dropped()
    this.#ends.onDrop()
  }

  close(): void {
    if (this.#closed) return
    this.#closed = true
    this.#deadline.cancel()
    this.#lease.release()
  }
}

/** A WebSocket close reason (≤ 123 bytes) for a refusal at open. */
export function refusalReason(error: unknown): string {
  const appError = isAppError(error) ? error : new AppError('E_TOO_MANY_STREAMS', 'too many streams')
  return `${appError.code}: ${appError.message}`.slice(0, 120)
}

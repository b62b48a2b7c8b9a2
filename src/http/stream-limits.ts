// How many realtime streams (SSE, WebSocket, long-poll, graphql-ws) one token subject, and everyone together, may hold.
import { AppError } from '../errors.js'
import { DeadlineWheel } from './token-deadline.js'

export const STREAM_KINDS = ['sse', 'ws', 'long-poll', 'graphql-ws', 'public-sse'] as const
export type StreamKind = (typeof STREAM_KINDS)[number]

/** WebSocket close codes for the refusals below; CONTRACT names 4429. */
export const WS_CLOSE_TOO_MANY_STREAMS = 4429
/** The reader fell behind its backlog limit: reconnect and resume from the last seq received. */
export const WS_CLOSE_SLOW_CONSUMER = 4408
/** What a client does after a refusal; every open stream ends within a heartbeat or a long-poll. */
const RETRY_AFTER_SECONDS = 5

export interface StreamLimitSettings {
  perSubject: number
  total: number
  /** Bytes an SSE or WebSocket reader may fall behind before it is dropped. */
  backlogBytes: number
  /** Who holds the streams, in the refusal's message (default "this token"; public streams: "this IP address"). */
  holder?: string
}

/** One open stream; release() is idempotent, so every close path may call it (a method: bind it to pass it on). */
export interface StreamLease {
  readonly kind: StreamKind
  /** How far (bytes) this stream's reader may fall behind before it is dropped. */
  readonly backlogBytes: number
  release(): void
  /** The stream was cut off because its reader fell behind (counted, then released). */
  dropped(): void
}

export interface StreamStats {
  open: Record<StreamKind, number>
  refusedPerSubject: Record<StreamKind, number>
  refusedTotal: Record<StreamKind, number>
  dropped: Record<StreamKind, number>
}

const zero = (): Record<StreamKind, number> => ({ sse: 0, ws: 0, 'long-poll': 0, 'graphql-ws': 0, 'public-sse': 0 })

export class StreamLimits {
  readonly settings: StreamLimitSettings
  /** Every stream's token deadline, on one shared timer. */
  readonly deadlines = new DeadlineWheel()
  readonly #bySubject = new Map<string, number>()
  #open = 0
  readonly #stats: StreamStats = { open: zero(), refusedPerSubject: zero(), refusedTotal: zero(), dropped: zero() }

  constructor(settings: StreamLimitSettings) {
    this.settings = settings
  }

  /** Takes a slot for the subject's new stream, or throws 429 E_TOO_MANY_STREAMS. */
  open(subject: string, kind: StreamKind): StreamLease {
    const held = this.#bySubject.get(subject) ?? 0
    if (held >= this.settings.perSubject) {
      this.#stats.refusedPerSubject[kind] += 1
      throw new AppError(
        'E_TOO_MANY_STREAMS',
        `${this.settings.holder ?? 'this token'} already holds ${held} realtime streams (at most ${this.settings.perSubject}); close one first`,
        { retryAfterSeconds: RETRY_AFTER_SECONDS, details: { limit: this.settings.perSubject, scope: 'subject' } },
      )
    }
    if (this.#open >= this.settings.total) {
      this.#stats.refusedTotal[kind] += 1
      throw new AppError(
        'E_TOO_MANY_STREAMS',
        'this server holds as many realtime streams as it allows; retry shortly',
        {
          retryAfterSeconds: RETRY_AFTER_SECONDS,
          details: { limit: this.settings.total, scope: 'server' },
        },
      )
    }
    this.#bySubject.set(subject, held + 1)
    this.#open += 1
    this.#stats.open[kind] += 1
    return new Lease(this, subject, kind)
  }

  /** @internal A lease's release, once. */
  released(subject: string, kind: StreamKind, dropped: boolean): void {
    if (dropped) this.#stats.dropped[kind] += 1
    this.#open -= 1
    this.#stats.open[kind] -= 1
    const left = (this.#bySubject.get(subject) ?? 1) - 1
    if (left <= 0) this.#bySubject.delete(subject)
    else this.#bySubject.set(subject, left)
  }

  /** Streams the subject holds now. */
  held(subject: string): number {
    return this.#bySubject.get(subject) ?? 0
  }

  stats(): StreamStats {
    return {
      open: { ...this.#stats.open },
      refusedPerSubject: { ...this.#stats.refusedPerSubject },
      refusedTotal: { ...this.#stats.refusedTotal },
      dropped: { ...this.#stats.dropped },
    }
  }
}

/** A class rather than closures: every idle stream holds one, so it holds one small object. */
class Lease implements StreamLease {
  #released = false

  constructor(
    readonly limits: StreamLimits,
    readonly subject: string,
    readonly kind: StreamKind,
  ) {}

  get backlogBytes(): number {
    return this.limits.settings.backlogBytes
  }

  release(): void {
    this.#finish(false)
  }

  dropped(): void {
    this.#finish(true)
  }

  #finish(dropped: boolean): void {
    if (this.#released) return
    this.#released = true
    this.limits.released(this.subject, this.kind, dropped)
  }
}

// One subscriber's position in the change log: backlog first, live events buffered meanwhile, then live.
import { compareSeq } from '../model/seq.js'
import type { EventSlice } from './log-entry.js'

export type SubscriberState = 'catching-up' | 'live' | 'closed'

/** Why the hub ended a stream: the client should reconnect with its cursor (nothing is lost). */
export type EndReason = 'shutdown' | 'error'

export interface SubscribeOptions {
  /** Only these exams' events; null or empty: every event. */
  examIds?: readonly string[] | null
  /** Deliver events after this seq (a snapshot's X-Replica-Seq, Last-Event-ID); null: from now. */
  after?: string | null
  /** Counts towards watcherCount() (the sync engine pulls while anyone watches). Default true. */
  watch?: boolean
  /** Keep counting as a watcher this long after closing, so that long-poll gaps do not flap. */
  lingerMs?: number
  /** Events in seq order, each once: the backlog first, then live. Never called after the end. */
  onEvents(slice: EventSlice): void
  /** The backlog is delivered; everything up to seq has been sent. */
  onReady?(seq: string): void
  /** The cursor is older than the retained log (or from another log): reload a snapshot. Final. */
  onRefetch(head: string): void
  /** The hub ended the subscription (shutdown, database error). Final. */
  onEnd?(reason: EndReason, error?: unknown): void
}

export interface Subscription {
  readonly examIds: ReadonlySet<string> | null
  /** Every matching event up to this seq has been delivered (or the subscription started after it). */
  cursor(): string
  state(): SubscriberState
  close(): void
}

/** What a subscriber needs from its hub. */
export interface SubscriberHost {
  /** The newest seq dispatched. */
  position(): string
  /** Live events held while the backlog is read; past this, they are dropped and re-read from the log. */
  readonly bufferLimit: number
  removed(subscriber: Subscriber): void
}

export class Subscriber implements Subscription {
  readonly examIds: ReadonlySet<string> | null
  readonly options: SubscribeOptions
  #state: SubscriberState = 'catching-up'
  #cursor: string
  #buffer: EventSlice[] = []
  #buffered = 0
  #overflowed = false
  readonly #hub: SubscriberHost

  constructor(options: SubscribeOptions, cursor: string, hub: SubscriberHost) {
    this.options = options
    this.examIds = options.examIds && options.examIds.length > 0 ? new Set(options.examIds) : null
    this.#cursor = cursor
    this.#hub = hub
  }

  /** Live, every event the hub dispatched was offered (and skipped when not about our exams). */
  cursor(): string {
    if (this.#state !== 'live') return this.#cursor
    const position = this.#hub.position()
    return compareSeq(position, this.#cursor) > 0 ? position : this.#cursor
  }

  state(): SubscriberState {
    return this.#state
  }

  get closed(): boolean {
    return this.#state === 'closed'
  }

  get overflowed(): boolean {
    return this.#overflowed
  }

  /** A live slice from the follower, already filtered to this subscriber's exams. */
  receive(slice: EventSlice): void {
    if (this.#state === 'live') return this.#deliver(slice)
    if (this.#state !== 'catching-up' || this.#overflowed) return
    this.#buffered += slice.entries.length
    if (this.#buffered > this.#hub.bufferLimit) {
      this.#overflowed = true
      this.#buffer = []
      return
    }
    this.#buffer.push(slice)
  }

  /** Events read from the log while catching up. */
  deliverBacklog(slice: EventSlice): void {
    if (this.#state === 'catching-up') this.#deliver(slice)
  }

  /** The backlog read found every matching event up to seq. */
  coveredThrough(seq: string): void {
    if (compareSeq(seq, this.#cursor) > 0) this.#cursor = seq
  }

  /** Starts a fresh buffer; what was dropped will be re-read from the log. */
  restartBuffer(): void {
    this.#buffer = []
    this.#buffered = 0
    this.#overflowed = false
  }

  /** Flushes the buffered live events and switches to live; everything up to `position` is now sent. */
  goLive(position: string): void {
    if (this.#state !== 'catching-up') return
    const buffered = this.#buffer
    this.#buffer = []
    for (const slice of buffered) this.#deliver(slice)
    if (this.closed) return
    this.coveredThrough(position)
    this.#state = 'live'
    this.#call(() => this.options.onReady?.(this.#cursor))
  }

  refetch(head: string): void {
    if (this.#finish()) this.#call(() => this.options.onRefetch(head))
  }

  end(reason: EndReason, error?: unknown): void {
    if (this.#finish()) this.#call(() => this.options.onEnd?.(reason, error))
  }

  close(): void {
    this.#finish()
  }

  #finish(): boolean {
    if (this.#state === 'closed') return false
    this.#state = 'closed'
    this.#buffer = []
    this.#hub.removed(this)
    return true
  }

  #deliver(slice: EventSlice): void {
    const fresh = slice.after(this.#cursor)
    if (!fresh) return
    this.#cursor = fresh.lastSeq
    this.#call(() => this.options.onEvents(fresh))
  }

  // One transport's failure must not stop the fan-out to everyone else.
  #call(fn: () => void): void {
    try {
      fn()
    } catch (error) {
      this.end('error', error)
    }
  }
}

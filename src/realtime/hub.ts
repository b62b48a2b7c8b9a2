// The realtime hub: one follower of the change log per instance, fanning out to its subscribers by exam.
//
// Follower (one per instance; the log is the truth, wake-ups are only hints)
//
//   idle ──start()──► following ◄────────────────────────────── page < limit and not woken again
//                       │  wake-ups: local commit (onCommitted), NOTIFY from another instance,
//                       │  LISTEN reconnected (notifications were lost), head poll (no LISTEN:
//                       │  transaction pooler), safety poll, retry
//                       ▼                                                              │
//                     pumping ── readEvents(after: position) ─► dispatch(slice) ───────┘
//                       │  local commit contiguous with position ─► dispatch at once (no read)
//                       │  dispatch: position moves, the slice joins the fan-out queue, which hands
//                       │  it to its subscribers FANOUT_CHUNK per turn; then `delivered` moves
//                       └─ read fails ─► retry with backoff
//   following ──stop()──► stopped: subscribers ended ('shutdown'); LISTEN and timers released
//
// Subscriber (one per SSE stream, WebSocket subscribe, long-poll wait, GraphQL subscription)
//
//   subscribe(after) ─► catching-up ─────────────────────────────────────────► live ─close()─► closed
//                         │ registered first, so live events are buffered;         ▲
//                         │ backlog (after, registeredAt] read from the log,       │ buffer flushed,
//                         │ filtered by exam, in pages; buffer overflow → re-read   │ deduped by seq;
//                         │ up to the new position ─────────────────────────────────┘ then `ready`
//                         ├─ after < prunedThrough, or after > head ─► refetch ─► closed
//                         └─ read fails / hub stops ─► ended ─► closed (client resumes from its cursor)
import { setImmediate } from 'node:timers/promises'
import type { Logger } from '../logger.js'
import { isWholeEvent, type ChangeEvent, type CommittedEvent, type LoggedChangeEvent } from '../model/records.js'
import { compareSeq } from '../model/seq.js'
import { headSeq, LOCKS, prunedThrough, pruneEvents, readEvents, type ReplicaDriver } from '../replica/index.js'
import { Fanout } from './fanout.js'
import { EventSlice, LogEntry } from './log-entry.js'
import { createNotifier, type Notifier } from './notifier.js'
import { SubscriberRegistry } from './registry.js'
import { Subscriber, type SubscribeOptions, type SubscriberHost, type Subscription } from './subscriber.js'

export const NOTIFY_CHANNEL = 'hubmirror_events'
const DAY_MS = 86_400_000
/** A burst of commits is read and fanned out a page at a time, with a turn of the event loop between pages. */
const FOLLOW_PAGE = 250
/**
 * A resumed subscriber's backlog is read and sent a page at a time. Small pages, with a turn of the
 * event loop after each, keep a long replay (a slow reader resuming 10,000 events behind) from
 * holding up other requests for more than a page's worth of work.
 */
const BACKLOG_PAGE = 100
const MAX_RETRY_MS = 5_000

export interface RealtimeHubOptions {
  db: ReplicaDriver
  logger: Logger
  /** How long the change log keeps events (default 7 days); older cursors get a refetch answer. */
  retentionMs?: number
  /** Events always kept, however old (default 1000). */
  keepLatest?: number
  /** Re-read the log this often while anyone subscribes, in case a wake-up was missed (default 3 s). */
  safetyPollMs?: number
  /**
   * Without LISTEN (a transaction pooler and no DATABASE_DIRECT_URL): look at the change log's
   * head this often, so that other instances' commits reach subscribers here within the realtime
   * budget (default 50 ms; one indexed head read per tick).
   */
  headPollMs?: number
  /** SSE heartbeat period (default 15 s); the transports read it. */
  heartbeatMs?: number
  /** At most one NOTIFY per this period after local commits (default 20 ms). */
  notifyIntervalMs?: number
  /** Prune at most this often (default 1 min). */
  pruneEveryMs?: number
  /** Live events a catching-up subscriber holds before re-reading them from the log (default 10,000). */
  catchUpBuffer?: number
  /** Subscribers handed a slice per turn of the event loop (default FANOUT_CHUNK, fanout.ts). */
  fanoutChunk?: number
}

/** Entries read from the log: json() splices each row's stored text, `event` parses it (GraphQL). */
export type ChangesPage = { kind: 'events'; entries: LogEntry[]; cursor: string } | { kind: 'refetch'; head: string }

export interface HubStats {
  /** The follower's place in the log (read and queued for fan-out). */
  position: string
  subscribers: number
  watchers: number
  /** Slices still being handed out to subscribers (0 when the fan-out has caught up). */
  fanoutPending: number
  /** Slices that joined a queued one because the fan-out was behind (fanout.ts). */
  fanoutMerged: number
  dispatched: number
  pumps: number
  listenReconnects: number
  /** Catch-ups whose buffer overflowed and that re-read the log instead. */
  overflows: number
}

export interface RealtimeHub {
  readonly heartbeatMs: number
  start(): Promise<void>
  stop(): Promise<void>
  watcherCount(): number
  onWatchersChanged(listener: (count: number) => void): () => void
  /** The newest seq this instance has handed to every subscriber. */
  position(): string
  subscribe(options: SubscribeOptions): Subscription
  /** One page of events after a cursor, straight from the log (long-poll, GraphQL `changes`). */
  readChanges(options: { after: string; examIds?: readonly string[] | null; limit?: number }): Promise<ChangesPage>
  /** Ends every subscription, e.g. when the server closes, so that no stream holds it open. */
  disconnectAll(): void
  /** Drops events past retention (runs by itself at most once per pruneEveryMs). */
  prune(): Promise<number>
  stats(): HubStats
}

export function createRealtimeHub(options: RealtimeHubOptions): RealtimeHub {
  return new Hub(options)
}

class Hub implements RealtimeHub {
  readonly heartbeatMs: number
  readonly #db: ReplicaDriver
  readonly #log: Logger
  readonly #retentionMs: number
  readonly #keepLatest: number
  readonly #safetyPollMs: number
  readonly #headPollMs: number
  readonly #notifyIntervalMs: number
  readonly #pruneEveryMs: number
  readonly #registry = new SubscriberRegistry()
  readonly #watchListeners = new Set<(count: number) => void>()
  readonly #lingering = new Set<NodeJS.Timeout>()
  /** The follower's place in the log: every event up to it is read and queued for fan-out. */
  #position = '0'
  /** Every event up to here has been handed to every subscriber (the fan-out may be a few turns behind). */
  #delivered = '0'
  readonly #fanout: Fanout
  #state: 'idle' | 'following' | 'stopped' = 'idle'
  #pumping: Promise<void> | null = null
  #again = false
  #failures = 0
  #retryTimer: NodeJS.Timeout | null = null
  #pollTimer: NodeJS.Timeout | null = null
  #headTimer: NodeJS.Timeout | null = null
  #headPolling = false
  #lastPrune = 0
  #watchers = 0
  #notifier: Notifier | null = null
  #unlisten: (() => Promise<void>) | null = null
  #offCommitted: (() => void) | null = null
  readonly #stats = { dispatched: 0, pumps: 0, listenReconnects: 0, overflows: 0 }
  readonly #host: SubscriberHost

  constructor(options: RealtimeHubOptions) {
    this.#db = options.db
    this.#log = options.logger
    this.#retentionMs = options.retentionMs ?? 7 * DAY_MS
    this.#keepLatest = options.keepLatest ?? 1_000
    this.#safetyPollMs = options.safetyPollMs ?? 3_000
    this.#headPollMs = options.headPollMs ?? 50
    this.heartbeatMs = options.heartbeatMs ?? 15_000
    this.#notifyIntervalMs = options.notifyIntervalMs ?? 20
    this.#pruneEveryMs = options.pruneEveryMs ?? 60_000
    this.#fanout = new Fanout(
      (seq) => (this.#delivered = seq),
      (slice) => this.#registry.plan(slice),
      options.fanoutChunk,
    )
    this.#host = {
      position: () => this.#delivered,
      bufferLimit: options.catchUpBuffer ?? 10_000,
      removed: (subscriber) => this.#removed(subscriber),
    }
  }

  async start(): Promise<void> {
    if (this.#state !== 'idle') return
    this.#position = this.#delivered = await headSeq(this.#db)
    this.#state = 'following'
    this.#offCommitted = this.#db.onCommitted((events) => queueMicrotask(() => this.#onLocalCommit(events)))
    // PGlite is one process: onCommitted already sees every write. Postgres may have other writers:
    // LISTEN where there is a session for it, else a poll of the log's head.
    const { wakeups } = this.#db.topology
    if (wakeups !== 'in-process') this.#startNotifier()
    if (wakeups === 'listen' || wakeups === 'listen-direct') await this.#listen()
    if (wakeups === 'poll') {
      this.#headTimer = setInterval(() => this.#pollHead(), this.#headPollMs)
      this.#headTimer.unref()
    }
    this.#pollTimer = setInterval(() => this.#tick(), this.#safetyPollMs)
    this.#pollTimer.unref()
    // Listen first, then resync: anything committed between headSeq and LISTEN is read now.
    this.#wake()
  }

  /** Sent even without a LISTEN here: instances given DATABASE_DIRECT_URL may listen. */
  #startNotifier(): void {
    this.#notifier = createNotifier({
      send: (seq) => this.#db.notify(NOTIFY_CHANNEL, seq),
      intervalMs: this.#notifyIntervalMs,
      onError: (error) =>
        this.#log.warn({ err: error }, 'realtime: NOTIFY failed (other instances catch up by polling)'),
    })
  }

  async #listen(): Promise<void> {
    this.#unlisten = await this.#db.listen(NOTIFY_CHANNEL, {
      onNotify: (payload) => {
        if (/^\d+$/.test(payload) && compareSeq(payload, this.#position) > 0) this.#wake()
      },
      onReconnect: () => {
        this.#stats.listenReconnects++
        this.#log.info('realtime: LISTEN reconnected; re-reading the change log')
        this.#wake()
      },
    })
  }

  /** One head read at a time; a head past our position wakes the follower, which reads the events. */
  #pollHead(): void {
    if (this.#headPolling || this.#pumping || this.#state !== 'following') return
    this.#headPolling = true
    headSeq(this.#db)
      .then((head) => {
        if (compareSeq(head, this.#position) > 0) this.#wake()
      })
      // A failing database shows up in the follower's own reads and their retries.
      .catch(() => undefined)
      .finally(() => (this.#headPolling = false))
  }

  async stop(): Promise<void> {
    if (this.#state === 'stopped') return
    this.#state = 'stopped'
    for (const timer of [this.#pollTimer, this.#headTimer, this.#retryTimer, ...this.#lingering])
      if (timer) clearTimeout(timer)
    this.#lingering.clear()
    this.#offCommitted?.()
    this.#fanout.clear()
    this.disconnectAll()
    await Promise.all([this.#unlisten?.(), this.#notifier?.close(), this.#pumping])
  }

  position(): string {
    return this.#delivered
  }

  watcherCount(): number {
    return this.#watchers
  }

  onWatchersChanged(listener: (count: number) => void): () => void {
    this.#watchListeners.add(listener)
    return () => this.#watchListeners.delete(listener)
  }

  stats(): HubStats {
    return {
      position: this.#position,
      subscribers: this.#registry.size,
      watchers: this.#watchers,
      fanoutPending: this.#fanout.pending,
      fanoutMerged: this.#fanout.merged,
      ...this.#stats,
    }
  }

  // ── the follower ──────────────────────────────────────────────────────────────────────────

  #onLocalCommit(events: readonly CommittedEvent[]): void {
    if (this.#state !== 'following' || events.length === 0) return
    const sorted = [...events].sort((a, b) => compareSeq(a.seq, b.seq))
    this.#notifier?.committed(sorted[sorted.length - 1].seq)
    // Seq order is commit order (change-log.ts), so an event right after our position cannot be
    // overtaken by anything uncommitted: dispatch it without reading the log back. An envelope
    // (a transaction begun before this listener) is read from the log, as another instance's is.
    const contiguous = this.#contiguousPrefix(sorted)
    if (contiguous.length > 0) this.#dispatch(contiguous)
    if (contiguous.length < sorted.length && compareSeq(sorted[sorted.length - 1].seq, this.#position) > 0) this.#wake()
  }

  #contiguousPrefix(sorted: readonly CommittedEvent[]): ChangeEvent[] {
    const prefix: ChangeEvent[] = []
    let expected = BigInt(this.#position) + 1n
    for (const event of sorted) {
      if (compareSeq(event.seq, this.#position) <= 0) continue
      if (event.seq !== String(expected) || !isWholeEvent(event)) break
      prefix.push(event)
      expected++
    }
    return prefix
  }

  #wake(): void {
    if (this.#state !== 'following') return
    if (this.#pumping) {
      this.#again = true
      return
    }
    this.#pumping = this.#pump().finally(() => {
      this.#pumping = null
    })
  }

  async #pump(): Promise<void> {
    this.#stats.pumps++
    try {
      do {
        this.#again = false
        await this.#readToEnd()
      } while (this.#again && this.#state === 'following')
      this.#failures = 0
    } catch (error) {
      this.#retryLater(error)
    }
  }

  async #readToEnd(): Promise<void> {
    for (;;) {
      const events = await readEvents(this.#db, { after: this.#position, limit: FOLLOW_PAGE })
      if (this.#state !== 'following') return
      // The fast path may have dispatched some of these while the read was in flight.
      const fresh = events.filter((event) => compareSeq(event.seq, this.#position) > 0)
      if (fresh.length > 0) this.#dispatch(fresh)
      if (events.length < FOLLOW_PAGE) return
      await setImmediate()
      if (this.#state !== 'following') return
    }
  }

  #retryLater(error: unknown): void {
    this.#failures++
    if (this.#failures === 1 || this.#failures % 20 === 0) {
      this.#log.warn({ err: error, failures: this.#failures }, 'realtime: reading the change log failed; retrying')
    }
    if (this.#state !== 'following' || this.#retryTimer) return
    const delay = Math.min(MAX_RETRY_MS, 250 * 2 ** Math.min(this.#failures, 5))
    this.#retryTimer = setTimeout(() => {
      this.#retryTimer = null
      this.#wake()
    }, delay)
    this.#retryTimer.unref()
  }

  #dispatch(events: readonly (ChangeEvent | LoggedChangeEvent)[]): void {
    const slice = EventSlice.of(events)
    // Moved first: a subscriber registered from inside a callback starts after this slice.
    this.#position = slice.lastSeq
    this.#stats.dispatched += events.length
    this.#fanout.push(slice)
  }

  #tick(): void {
    if (this.#registry.size > 0) this.#wake()
    if (Date.now() - this.#lastPrune >= this.#pruneEveryMs) {
      this.prune().catch((error) => this.#log.warn({ err: error }, 'realtime: pruning the change log failed'))
    }
  }

  async prune(): Promise<number> {
    this.#lastPrune = Date.now()
    const result = await this.#db.withTryLock(LOCKS.prune, () =>
      pruneEvents(this.#db, this.#retentionMs, this.#keepLatest),
    )
    const dropped = result.acquired ? result.value : 0
    if (dropped > 0) this.#log.info({ dropped }, 'realtime: pruned the change log')
    return dropped
  }

  // ── subscribers ───────────────────────────────────────────────────────────────────────────

  subscribe(options: SubscribeOptions): Subscription {
    const registeredAt = this.#position
    const after = options.after ?? null
    const subscriber = new Subscriber(options, after ?? registeredAt, this.#host)
    this.#registry.add(subscriber)
    if (options.watch !== false) this.#setWatchers(this.#watchers + 1)
    if (this.#state === 'stopped') queueMicrotask(() => subscriber.end('shutdown'))
    else void this.#catchUp(subscriber, after, registeredAt)
    return subscriber
  }

  async #catchUp(subscriber: Subscriber, after: string | null, registeredAt: string): Promise<void> {
    try {
      if (after !== null && compareSeq(after, registeredAt) < 0) {
        if (!(await this.#readBacklog(subscriber, after, registeredAt))) return
      } else if (after !== null && compareSeq(after, registeredAt) > 0) {
        if (!(await this.#checkAhead(subscriber, after))) return
      } else {
        // Nothing to read, but callbacks must not run inside subscribe()'s caller.
        await null
      }
      // Not #position: slices queued before this subscriber registered may still be on their way to it.
      subscriber.goLive(this.#delivered)
    } catch (error) {
      subscriber.end('error', error)
    }
  }

  /** A cursor past this instance's position: another instance saw newer events, or it is bogus. */
  async #checkAhead(subscriber: Subscriber, after: string): Promise<boolean> {
    const head = await headSeq(this.#db)
    if (subscriber.closed) return false
    // Past the log's head: a cursor from another database (e.g. after a reset). Nothing can resume it.
    if (compareSeq(after, head) > 0) {
      subscriber.refetch(head)
      return false
    }
    this.#wake()
    return true
  }

  async #readBacklog(subscriber: Subscriber, after: string, registeredAt: string): Promise<boolean> {
    if (!(await this.#retained(subscriber, after))) return false
    let from = after
    let through = registeredAt
    for (;;) {
      await this.#readRange(subscriber, from, through)
      if (subscriber.closed) return false
      subscriber.coveredThrough(through)
      if (!subscriber.overflowed) break
      this.#stats.overflows++
      // Live events arrived faster than the backlog was read: read them from the log as well.
      from = through
      through = this.#position
      subscriber.restartBuffer()
    }
    // Checked again: a prune that ran during the read may have removed events before we read them.
    return this.#retained(subscriber, after)
  }

  async #retained(subscriber: Subscriber, after: string): Promise<boolean> {
    const pruned = await prunedThrough(this.#db)
    if (subscriber.closed) return false
    if (compareSeq(after, pruned) >= 0) return true
    subscriber.refetch(this.#position)
    return false
  }

  async #readRange(subscriber: Subscriber, after: string, through: string): Promise<void> {
    const examIds = subscriber.examIds ? [...subscriber.examIds] : null
    for (let from = after; ;) {
      const page = await readEvents(this.#db, { after: from, examIds, through, limit: BACKLOG_PAGE })
      if (subscriber.closed) return
      if (page.length > 0) subscriber.deliverBacklog(EventSlice.of(page))
      if (page.length < BACKLOG_PAGE) return
      from = page[page.length - 1].seq
      await setImmediate()
    }
  }

  #removed(subscriber: Subscriber): void {
    this.#registry.remove(subscriber)
    if (subscriber.options.watch === false) return
    const linger = subscriber.options.lingerMs ?? 0
    if (linger <= 0 || this.#state === 'stopped') return this.#setWatchers(this.#watchers - 1)
    const timer = setTimeout(() => {
      this.#lingering.delete(timer)
      this.#setWatchers(this.#watchers - 1)
    }, linger)
    timer.unref()
    this.#lingering.add(timer)
  }

  #setWatchers(count: number): void {
    const next = Math.max(0, count)
    if (next === this.#watchers) return
    this.#watchers = next
    for (const listener of this.#watchListeners) {
      try {
        listener(next)
      } catch (error) {
        this.#log.warn({ err: error }, 'realtime: a watcher listener threw')
      }
    }
  }

  disconnectAll(): void {
    for (const subscriber of this.#registry.list()) subscriber.end('shutdown')
  }

  async readChanges(options: {
    after: string
    examIds?: readonly string[] | null
    limit?: number
  }): Promise<ChangesPage> {
    const head = await headSeq(this.#db)
    const behind = compareSeq(options.after, head) < 0
    const events = behind
      ? await readEvents(this.#db, {
          after: options.after,
          examIds: options.examIds,
          through: head,
          limit: options.limit ?? 1_000,
        })
      : []
    // Read after the events, for the same reason as in #readBacklog.
    const pruned = await prunedThrough(this.#db)
    if (compareSeq(options.after, pruned) < 0 || compareSeq(options.after, head) > 0) return { kind: 'refetch', head }
    const entries = events.map((event) => new LogEntry(event))
    return { kind: 'events', entries, cursor: events.length > 0 ? events[events.length - 1].seq : head }
  }
}

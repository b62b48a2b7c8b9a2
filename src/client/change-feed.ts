// One change stream shared by many consumers (browsers allow ~6 connections per host, across tabs).
import { compareSeq, isSeq, normalizeSeq } from '../model/seq.js'
import {
  subscribeChanges,
  type ChangeStatus,
  type SubscribeOptions,
  type Subscription,
  type Transport,
} from './subscribe.js'
import type { ChangeEvent } from './types.js'

export type ChangeFeedOptions = Omit<SubscribeOptions, 'examIds' | 'after' | 'onEvent' | 'onRefetch' | 'onStatus'> & {
  onStatus?(status: ChangeStatus): void
  /** How many recent events to keep for consumers that join with an `after` slightly behind. */
  bufferSize?: number
}

/** What a consumer passes: the same shape as subscribeChanges' callbacks. */
export interface FeedSubscribeOptions {
  examIds?: string[]
  after?: string | null
  onEvent(event: ChangeEvent): void
  onRefetch(headSeq: string): void
  onStatus?(status: ChangeStatus): void
}

export interface ChangeFeed {
  /** A consumer with its own cursor, filter and resume, over the one shared connection. */
  subscribe(options: FeedSubscribeOptions): Subscription
  status(): ChangeStatus
  onStatus(listener: (status: ChangeStatus) => void): () => void
  close(): void
}

interface Consumer {
  options: FeedSubscribeOptions
  examIds: Set<string> | null
  cursor: string | null
  paused: boolean
}

/**
 * The shared stream always follows every exam. A consumer joining with `after` inside the buffered
 * window gets the buffered events replayed; one joining further back makes the shared stream
 * restart from its `after` (the server replays), and the other consumers' cursors drop the repeats.
 */
export function createChangeFeed(options: ChangeFeedOptions): ChangeFeed {
  const bufferSize = options.bufferSize ?? 2_000
  const consumers = new Set<Consumer>()
  const statusListeners = new Set<(s: ChangeStatus) => void>()
  let stream: Subscription | null = null
  let streamPaused = false
  let closed = false
  let status: ChangeStatus = 'connecting'
  // The buffer holds every event with seq in (bufferFloor, newest]; null floor: coverage unknown.
  let buffer: ChangeEvent[] = []
  let bufferFloor: string | null = null

  const matches = (c: Consumer, e: ChangeEvent) =>
    c.examIds === null ||
    (e.exam_id !== null && c.examIds.has(e.exam_id)) ||
    (e.kind === 'exam' && c.examIds.has(e.hubspot_id))

  function offer(c: Consumer, e: ChangeEvent): void {
    if (c.paused || !consumers.has(c)) return
    if (isSeq(e.seq)) {
      if (c.cursor !== null && compareSeq(e.seq, c.cursor) <= 0) return
      c.cursor = e.seq
    }
    if (matches(c, e)) c.options.onEvent(e)
  }

  function start(after: string | null): void {
    buffer = []
    bufferFloor = after
    streamPaused = false
    if (stream) {
      stream.resume(after)
      return
    }
    stream = subscribeChanges({
      ...options,
      after,
      onEvent(event) {
        if (bufferFloor === null) bufferFloor = stream?.cursor() ?? null
        buffer.push(event)
        if (buffer.length > bufferSize) {
          const dropped = buffer.splice(0, buffer.length - bufferSize)
          bufferFloor = dropped[dropped.length - 1]?.seq ?? bufferFloor
        }
        for (const c of [...consumers]) offer(c, event)
      },
      onStatus(next) {
        status = next
        if (next === 'live') {
          // A stream started "from now" learns its position from the server's ready event; so do
          // consumers that joined "from now", or a later restart would replay older events to them.
          const position = stream?.cursor() ?? null
          if (bufferFloor === null) bufferFloor = position
          for (const c of consumers) if (c.cursor === null && !c.paused) c.cursor = position
        }
        options.onStatus?.(next)
        for (const c of consumers) if (!c.paused) c.options.onStatus?.(next)
        for (const l of statusListeners) l(next)
      },
      onRefetch(head) {
        streamPaused = true
        buffer = []
        bufferFloor = null
        for (const c of [...consumers]) {
          c.paused = true
          c.options.onRefetch(head)
        }
      },
    })
  }

  /** Makes sure `c` will see every event after its cursor. */
  function cover(c: Consumer): void {
    if (closed) return
    if (!stream || streamPaused) {
      start(c.cursor)
      return
    }
    if (c.cursor === null) {
      c.cursor = stream.cursor()
      if (c.cursor !== null) return
      // Position unknown yet (not ready): it gets what arrives from now on.
      return
    }
    if (bufferFloor !== null && compareSeq(c.cursor, bufferFloor) >= 0) {
      const from = c.cursor
      const replay = buffer.filter((e) => isSeq(e.seq) && compareSeq(e.seq, from) > 0)
      // Replayed later, not inside subscribe(), so callers see the same order as for a fresh stream.
      queueMicrotask(() => replay.forEach((e) => offer(c, e)))
      return
    }
    start(c.cursor)
  }

  return {
    subscribe(sub) {
      const c: Consumer = {
        options: sub,
        examIds: sub.examIds && sub.examIds.length > 0 ? new Set(sub.examIds) : null,
        cursor: normalizeSeq(sub.after ?? null),
        paused: false,
      }
      consumers.add(c)
      cover(c)
      return {
        close() {
          consumers.delete(c)
        },
        cursor: () => c.cursor,
        resume(fromSeq) {
          if (!consumers.has(c)) return
          if (fromSeq !== undefined) c.cursor = normalizeSeq(fromSeq)
          c.paused = false
          cover(c)
        },
        status: () => (c.paused ? 'reconnecting' : status),
        transport: (): Transport => stream?.transport() ?? options.transport ?? 'sse',
      }
    },
    status: () => status,
    onStatus(listener) {
      statusListeners.add(listener)
      return () => statusListeners.delete(listener)
    },
    close() {
      closed = true
      consumers.clear()
      stream?.close()
      stream = null
    },
  }
}

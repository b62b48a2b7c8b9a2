// Realtime clients that behave like browsers across outages: SSE that reconnects with Last-Event-ID, long-poll that retries its cursor.
import { setTimeout as sleep } from 'node:timers/promises'
import { connectSse, type SseConnection } from './streams.js'

export interface ResumableFeed {
  /** Change-log seqs received, in order, over every connection. */
  seqs: string[]
  /** Connections (SSE) or requests (long-poll) that ended in an error and were retried. */
  retries: number
  /** SSE connections opened (the first included). */
  connections: number
  stop(): Promise<void>
}

/** An SSE follower of one exam, reconnecting with Last-Event-ID as EventSource does. */
export function followSse(
  base: string,
  token: string,
  examId: string,
  options: { after?: string } = {},
): ResumableFeed {
  const feed: ResumableFeed = { seqs: [], retries: 0, connections: 0, stop: async () => undefined }
  let stopped = false
  let current: SseConnection | null = null
  let last = options.after ?? null
  const run = (async () => {
    while (!stopped) {
      let connection: SseConnection
      try {
        connection = await connectSse(`${base}/api/events?exam_ids=${examId}`, {
          authorization: `Bearer ${token}`,
          ...(last !== null ? { 'last-event-id': last } : {}),
        })
      } catch {
        feed.retries += 1
        await sleep(250)
        continue
      }
      if (connection.status !== 200) {
        connection.close()
        feed.retries += 1
        await sleep(250)
        continue
      }
      current = connection
      feed.connections += 1
      let read = 0
      while (!stopped) {
        const changes = connection.changes()
        for (; read < changes.length; read++) {
          feed.seqs.push(changes[read].seq)
          last = changes[read].seq
        }
        if (connection.isEnded()) break
        await sleep(10)
      }
      if (!stopped) {
        feed.retries += 1
        await sleep(250)
      }
    }
  })()
  feed.stop = async () => {
    stopped = true
    current?.close()
    await run
  }
  return feed
}

/** A long-poll loop on one exam: keeps its cursor, and on an error asks again from the same cursor. */
export function followLongPoll(
  base: string,
  token: string,
  examId: string,
  after = '0',
): ResumableFeed & { cursor(): string } {
  let cursor = after
  let stopped = false
  let controller = new AbortController()
  const feed = { seqs: [] as string[], retries: 0, connections: 0, stop: async () => undefined, cursor: () => cursor }
  const run = (async () => {
    while (!stopped) {
      controller = new AbortController()
      try {
        const response = await fetch(`${base}/api/long-poll?after=${cursor}&exam_ids=${examId}&timeout_ms=2000`, {
          headers: { authorization: `Bearer ${token}` },
          signal: controller.signal,
        })
        const body = await response.json()
        if (response.status !== 200) throw new Error(`long-poll ${response.status}`)
        for (const event of body.events as Array<{ seq: string }>) feed.seqs.push(event.seq)
        cursor = body.cursor
        feed.connections += 1
      } catch {
        if (stopped) break
        feed.retries += 1
        await sleep(250)
      }
    }
  })()
  feed.stop = async () => {
    stopped = true
    controller.abort()
    await run
  }
  return feed
}

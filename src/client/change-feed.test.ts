// Tests for the shared change feed: one connection, per-consumer cursors, catch-up and refetch.
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import type { ChangeEvent } from '../model/records.js'
import { createChangeFeed, type ChangeFeed } from './change-feed.js'
import { startFakeServer, type FakeServer } from '../../test/support/fake-realtime-server.js'

let server: FakeServer
let feed: ChangeFeed

beforeEach(async () => {
  server = await startFakeServer()
  feed = createChangeFeed({ baseUrl: server.url, token: 't0k', minBackoffMs: 10, maxBackoffMs: 50 })
})

afterEach(async () => {
  feed.close()
  await server.close()
})

async function until(check: () => boolean, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!check()) {
    if (Date.now() > deadline) throw new Error('condition not met in time')
    await new Promise((r) => setTimeout(r, 5))
  }
}

function consumer(after: string | null, examIds?: string[]) {
  const events: ChangeEvent[] = []
  const refetches: string[] = []
  const sub = feed.subscribe({
    after,
    ...(examIds ? { examIds } : {}),
    onEvent: (e) => events.push(e),
    onRefetch: (h) => refetches.push(h),
  })
  return { sub, events, refetches, seqs: () => events.map((e) => Number(e.seq)) }
}

const streams = () => server.requests.filter((r) => r.path === '/api/events').length

describe('createChangeFeed', () => {
  it('serves several consumers, each with its own filter and starting point, over one connection', async () => {
    for (let i = 1; i <= 4; i++) server.publish({ exam_id: i % 2 ? 'e1' : 'e2' })
    const a = consumer('0')
    await until(() => a.events.length === 4)
    const b = consumer('2', ['e1']) // inside the buffered window: replayed, no new connection
    const c = consumer(null, ['e2'])
    server.publish({ exam_id: 'e1' })
    server.publish({ exam_id: 'e2' })
    await until(() => a.events.length === 6 && c.events.length === 1)
    expect(a.seqs()).toEqual([1, 2, 3, 4, 5, 6])
    expect(b.seqs()).toEqual([3, 5])
    expect(c.seqs()).toEqual([6])
    expect(streams()).toBe(1)
  })

  it('restarts the shared stream for a consumer further back, without repeating events to the others', async () => {
    for (let i = 0; i < 5; i++) server.publish()
    const a = consumer(null)
    await until(() => feed.status() === 'live')
    const b = consumer('1') // older than the buffer: the stream restarts from 1
    await until(() => b.events.length === 4)
    server.publish()
    await until(() => a.events.length === 1 && b.events.length === 5)
    expect(a.seqs()).toEqual([6])
    expect(b.seqs()).toEqual([2, 3, 4, 5, 6])
    expect(streams()).toBe(2)
  })

  it('passes a refetch to every consumer and resumes when they do', async () => {
    for (let i = 0; i < 6; i++) server.publish()
    server.setRetentionFloor(5)
    const a = consumer('1')
    const b = consumer('1')
    await until(() => a.refetches.length === 1 && b.refetches.length === 1)
    expect(a.refetches).toEqual(['6'])
    a.sub.resume('6')
    b.sub.resume('6')
    server.publish()
    await until(() => a.events.length === 1 && b.events.length === 1)
    expect(a.seqs()).toEqual([7])
    expect(b.seqs()).toEqual([7])
  })

  it('a closed consumer receives nothing more', async () => {
    const a = consumer('0')
    const b = consumer('0')
    server.publish()
    await until(() => a.events.length === 1 && b.events.length === 1)
    a.sub.close()
    server.publish()
    await until(() => b.events.length === 2)
    expect(a.events.length).toBe(1)
  })
})

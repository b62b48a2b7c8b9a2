// Tests for subscribeChanges against a local fake server: resume, de-duplication, refetch, fallback.
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import type { ChangeEvent } from '../model/records.js'
import { startFakeServer, type FakeServer } from '../../test/support/fake-realtime-server.js'
import { subscribeChanges, type ChangeStatus, type SubscribeOptions, type Subscription } from './subscribe.js'

let server: FakeServer
let subs: Subscription[] = []

beforeEach(async () => {
  server = await startFakeServer()
})

afterEach(async () => {
  for (const s of subs) s.close()
  subs = []
  await server.close()
})

function subscribe(extra: Partial<SubscribeOptions> = {}) {
  const events: ChangeEvent[] = []
  const statuses: ChangeStatus[] = []
  const refetches: string[] = []
  const sub = subscribeChanges({
    baseUrl: server.url,
    token: 't0k',
    minBackoffMs: 10,
    maxBackoffMs: 100,
    onEvent: (e) => events.push(e),
    onStatus: (s) => statuses.push(s),
    onRefetch: (head) => refetches.push(head),
    ...extra,
  })
  subs.push(sub)
  return { sub, events, statuses, refetches }
}

async function until(check: () => boolean, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!check()) {
    if (Date.now() > deadline) throw new Error('condition not met in time')
    await new Promise((r) => setTimeout(r, 5))
  }
}

const seqs = (events: ChangeEvent[]) => events.map((e) => Number(e.seq))
const range = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => from + i)
const sseRequests = () => server.requests.filter((r) => r.path === '/api/events')

describe('subscribeChanges over SSE', () => {
  it('streams live changes with the bearer token and reports connecting → live', async () => {
    const { sub, events, statuses } = subscribe()
    expect(sub.status()).toBe('connecting')
    await until(() => statuses.includes('live'))
    server.publish()
    server.publish({ source: 'sync' })
    await until(() => events.length === 2)
    expect(seqs(events)).toEqual([1, 2])
    expect(events[1]?.source).toBe('sync')
    expect(sseRequests()[0]?.headers.authorization).toBe('Bearer t0k')
    expect(sub.cursor()).toBe('2')
  })

  it('replays from `after` and sends exam_ids', async () => {
    for (let i = 0; i < 5; i++) server.publish({ exam_id: i % 2 === 0 ? 'e1' : 'e2' })
    const { events } = subscribe({ after: '1', examIds: ['e1', 'e3'] })
    await until(() => events.length === 2)
    expect(seqs(events)).toEqual([3, 5])
    expect(sseRequests()[0]?.query.get('exam_ids')).toBe('e1,e3')
    expect(sseRequests()[0]?.query.get('after')).toBe('1')
    expect(sseRequests()[0]?.headers['last-event-id']).toBe('1')
  })

  it('resumes after a mid-stream disconnect with Last-Event-ID: no loss, no duplicates', async () => {
    server.setReplayOverlap(3) // the server re-sends a few old events on every reconnect
    const { sub, events, statuses } = subscribe({ after: '0' })
    await until(() => statuses.includes('live'))
    for (let i = 0; i < 5; i++) server.publish()
    await until(() => events.length === 5)

    server.dropStreams({ partial: true }) // cut in the middle of an event's bytes
    for (let i = 0; i < 5; i++) server.publish() // published while the client is away
    await until(() => events.length >= 10)
    for (let i = 0; i < 5; i++) server.publish()
    await until(() => events.length >= 15)

    server.dropStreams()
    server.publish()
    await until(() => events.length >= 16)
    await new Promise((r) => setTimeout(r, 50))

    expect(seqs(events)).toEqual(range(1, 16))
    expect(statuses).toContain('reconnecting')
    const resumes = sseRequests().slice(1)
    expect(resumes.length).toBeGreaterThanOrEqual(2)
    expect(resumes[0]?.headers['last-event-id']).toBe('5')
    expect(resumes[0]?.query.get('after')).toBe('5')
    expect(sub.cursor()).toBe('16')
    expect(sub.status()).toBe('live')
  })

  it('adopts the head from `ready` when started without a cursor, so a reconnect loses nothing', async () => {
    for (let i = 0; i < 3; i++) server.publish()
    const { sub, events, statuses } = subscribe()
    await until(() => statuses.includes('live'))
    expect(sub.cursor()).toBe('3')
    server.dropStreams()
    server.publish()
    await until(() => events.length === 1)
    expect(seqs(events)).toEqual([4])
    expect(sseRequests()[1]?.headers['last-event-id']).toBe('3')
  })

  it('on a refetch answer calls onRefetch, stops, and resumes from the caller’s seq', async () => {
    for (let i = 0; i < 10; i++) server.publish()
    server.setRetentionFloor(8)
    const { sub, events, refetches, statuses } = subscribe({ after: '2' })
    await until(() => refetches.length === 1)
    expect(refetches).toEqual(['10'])
    expect(events).toEqual([])
    expect(statuses.at(-1)).toBe('reconnecting')

    // Paused: no reconnect attempts while the app reloads its snapshot.
    const before = sseRequests().length
    await new Promise((r) => setTimeout(r, 150))
    expect(sseRequests().length).toBe(before)

    sub.resume('10')
    await until(() => sub.status() === 'live')
    server.publish()
    await until(() => events.length === 1)
    expect(seqs(events)).toEqual([11])
    expect(sseRequests().at(-1)?.headers['last-event-id']).toBe('10')
  })

  it('treats a 410 E_CURSOR_EXPIRED answer as refetch too', async () => {
    server.stub('GET /api/events', 410, {
      success: false,
      error: { code: 'E_CURSOR_EXPIRED', message: 'old', seq: '99' },
    })
    const { refetches } = subscribe({ after: '1' })
    await until(() => refetches.length === 1)
    expect(refetches).toEqual(['99'])
  })

  it('treats a silent stream (no heartbeat) as dead and reconnects', async () => {
    server.setSseFault('silent')
    const { statuses } = subscribe({ heartbeatTimeoutMs: 150, after: '0' })
    await until(() => sseRequests().length >= 2, 3_000)
    expect(statuses).toContain('reconnecting')
    server.setSseFault(null)
    await until(() => statuses.at(-1) === 'live')
  })

  it('keeps a heartbeat-only stream alive', async () => {
    server.setHeartbeat(40)
    const { statuses } = subscribe({ heartbeatTimeoutMs: 150, after: '0' })
    await until(() => statuses.includes('live'))
    await new Promise((r) => setTimeout(r, 500))
    expect(sseRequests().length).toBe(1)
  })

  it('stops with onError on 401 and does not retry', async () => {
    const errors: unknown[] = []
    const { statuses } = subscribe({ token: 'wrong', onError: (e) => errors.push(e) })
    await until(() => errors.length === 1)
    expect(errors[0]).toMatchObject({ status: 401, code: 'E_UNAUTHORIZED' })
    expect(statuses.at(-1)).toBe('offline')
    await new Promise((r) => setTimeout(r, 100))
    expect(sseRequests().length).toBe(1)
  })

  it('close() ends the stream and no callback fires afterwards', async () => {
    const { sub, events, statuses } = subscribe({ after: '0' })
    await until(() => statuses.includes('live'))
    sub.close()
    await until(() => server.openStreams() === 0)
    server.publish()
    await new Promise((r) => setTimeout(r, 50))
    expect(events).toEqual([])
  })
})

describe('subscribeChanges fallback to long-poll', () => {
  it('switches to long-poll after 3 quick SSE failures, and delivers in order', async () => {
    server.setSseFault(503)
    for (let i = 0; i < 2; i++) server.publish()
    const transports: string[] = []
    const { sub, events, statuses } = subscribe({ after: '0', onTransport: (t) => transports.push(t) })
    await until(() => events.length === 2)
    expect(transports).toEqual(['long-poll'])
    expect(sub.transport()).toBe('long-poll')
    expect(sseRequests().length).toBe(3)
    await until(() => statuses.at(-1) === 'live')

    server.publish()
    server.publish({ exam_id: 'e9' })
    await until(() => events.length === 4)
    expect(seqs(events)).toEqual([1, 2, 3, 4])
    const polls = () => server.requests.filter((r) => r.path === '/api/long-poll')
    expect(polls()[0]?.query.get('after')).toBe('0')
    // The next poll is sent after the events are handed over, so wait for it rather than race it.
    await until(() => polls().length > 0 && polls().at(-1)?.query.get('after') === '4')
  })

  it('long-poll without a cursor starts from the head a read reports', async () => {
    for (let i = 0; i < 3; i++) server.publish()
    const { sub, events, statuses } = subscribe({ transport: 'long-poll' })
    await until(() => statuses.at(-1) === 'live')
    expect(sub.cursor()).toBe('3')
    server.publish()
    await until(() => events.length === 1)
    expect(seqs(events)).toEqual([4])
    const polls = server.requests.filter((r) => r.path === '/api/long-poll')
    expect(polls[0]?.query.get('after')).toBe('3')
    // The first poll only catches up; later ones wait for news.
    expect(polls[0]?.query.get('timeout_ms')).toBe('0')
    expect(polls.at(-1)?.query.get('timeout_ms')).toBeNull()
  })

  it('long-poll answers 410 with a refetch, then resumes', async () => {
    for (let i = 0; i < 6; i++) server.publish()
    server.setRetentionFloor(5)
    const { sub, events, refetches } = subscribe({ transport: 'long-poll', after: '1' })
    await until(() => refetches.length === 1)
    expect(refetches).toEqual(['6'])
    sub.resume('6')
    server.publish()
    await until(() => events.length === 1)
    expect(seqs(events)).toEqual([7])
  })

  it('long-poll drops duplicates a server re-sends', async () => {
    for (let i = 0; i < 3; i++) server.publish()
    server.stub('GET /api/long-poll', 200, {
      success: true,
      // The server re-sends 2 (the client's cursor) along with 3: only 3 is new.
      events: ['2', '3'].map((seq) => ({
        seq,
        kind: 'booking',
        op: 'upsert',
        hubspot_id: `b${seq}`,
        exam_id: 'e1',
        source: 'write',
        at: '',
        changes: null,
        origin: null,
        row: null,
      })),
      cursor: '3',
    })
    const { events } = subscribe({ transport: 'long-poll', after: '2' })
    await until(() => events.length >= 1)
    server.publish()
    await until(() => events.length >= 2)
    await new Promise((r) => setTimeout(r, 50))
    expect(seqs(events)).toEqual([3, 4])
  })
})

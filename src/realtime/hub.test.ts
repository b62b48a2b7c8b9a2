// The hub over embedded Postgres: ordered fan-out, exact resume under racing writers, refetch, wake-ups, pruning.
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { makeBooking, makeExam } from '../../test/support/records.js'
import { createLogger } from '../logger.js'
import type { ChangeEvent } from '../model/records.js'
import { compareSeq } from '../model/seq.js'
import { createPgliteDriver } from '../replica/driver-pglite.js'
import type { ListenHandlers, ReplicaDriver } from '../replica/driver.js'
import { headSeq, migrate, prunedThrough, pruneEvents, readEvents, upsertBookings } from '../replica/index.js'
import { createRealtimeHub, type RealtimeHub, type RealtimeHubOptions } from './hub.js'
import type { SubscribeOptions, Subscription } from './subscriber.js'

let db: ReplicaDriver
const logger = createLogger('silent')
const hubs: RealtimeHub[] = []

/** A booking of the exam with this id; the rest of the exam does not matter here. */
const booking = (examId: string) => makeBooking(makeExam({ hubspot_id: examId }))

const write = (examId: string, n = 1, on: ReplicaDriver = db) =>
  on.transaction((tx) =>
    upsertBookings(
      tx,
      Array.from({ length: n }, () => booking(examId)),
      'write',
    ),
  )

async function startHub(options: Partial<RealtimeHubOptions> = {}, driver: ReplicaDriver = db): Promise<RealtimeHub> {
  const hub = createRealtimeHub({ db: driver, logger, ...options })
  await hub.start()
  hubs.push(hub)
  return hub
}

/** A subscription that records what it receives. */
function record(hub: RealtimeHub, options: Partial<SubscribeOptions> = {}) {
  const got: ChangeEvent[] = []
  const log: string[] = []
  const subscription: Subscription = hub.subscribe({
    onEvents: (slice) => {
      for (const entry of slice.entries) got.push(entry.event)
      log.push('events')
    },
    onReady: (seq) => log.push(`ready:${seq}`),
    onRefetch: (head) => log.push(`refetch:${head}`),
    onEnd: (reason) => log.push(`end:${reason}`),
    ...options,
  })
  return { got, log, subscription, seqs: () => got.map((e) => e.seq) }
}

async function allSeqs(examIds: readonly string[] | null, after = '0'): Promise<string[]> {
  return (await readEvents(db, { after, examIds, limit: 100_000 })).map((e) => e.seq)
}

beforeAll(async () => {
  db = await createPgliteDriver(null)
  await migrate(db)
})
afterEach(async () => {
  await Promise.all(hubs.splice(0).map((hub) => hub.stop()))
})
afterAll(() => db.close())

describe('the realtime hub', () => {
  it('fans local commits out in order, to everyone or by exam', async () => {
    const hub = await startHub()
    const all = record(hub)
    const onlyA = record(hub, { examIds: ['A'] })
    const aAndB = record(hub, { examIds: ['A', 'B'] })
    await expect.poll(() => all.log[0]).toBe(`ready:${hub.position()}`)
    const written = [...(await write('A', 2)), ...(await write('C')), ...(await write('B')), ...(await write('A'))]
    await expect.poll(() => all.got.length).toBe(5)
    expect(all.seqs()).toEqual(written.map((e) => e.seq))
    expect(onlyA.got.map((e) => e.exam_id)).toEqual(['A', 'A', 'A'])
    expect(aAndB.got.map((e) => e.exam_id)).toEqual(['A', 'A', 'B', 'A'])
    expect(hub.stats().subscribers).toBe(3)
  })

  // Chunk 2: every slice reaches its subscribers over several turns, with subscribers registering and
  // catching up between them.
  it.each([
    ['at once', undefined],
    ['two subscribers per turn', 2],
  ])(
    'resumes every subscriber exactly (backlog, then live, no gap, no duplicate) while writers race: fan-out %s',
    async (_, fanoutChunk) => {
      const hub = await startHub({ fanoutChunk })
      const start = await headSeq(db)
      await write('A', 50)
      const writers = Promise.all(
        ['A', 'B', 'A', 'C'].map(async (exam) => {
          for (let i = 0; i < 25; i++) await write(exam, 1 + (i % 3))
        }),
      )
      const subscribers: Array<ReturnType<typeof record> & { after: string; examIds: string[] | null }> = []
      for (let i = 0; i < 12; i++) {
        await new Promise((resolve) => setTimeout(resolve, 3))
        const after = String(Number(start) + i * 7)
        const examIds = i % 3 === 0 ? null : i % 3 === 1 ? ['A'] : ['B', 'C']
        subscribers.push({ ...record(hub, { after, examIds }), after, examIds })
      }
      await writers
      for (const s of subscribers) {
        const expected = await allSeqs(s.examIds, s.after)
        await expect.poll(() => s.got.length).toBe(expected.length)
        expect(s.seqs()).toEqual(expected)
        expect(s.log.filter((l) => l.startsWith('ready'))).toHaveLength(1)
        expect(s.subscription.cursor()).toBe(await headSeq(db))
      }
    },
  )

  it('a subscriber whose catch-up ends while a commit is still on its way to it gets that commit', async () => {
    const hub = await startHub({ fanoutChunk: 1 })
    const earlier = await write('A', 3)
    const crowd = Array.from({ length: 2_000 }, () => record(hub))
    await expect.poll(() => crowd.every((s) => s.log.length === 1)).toBe(true)
    let late: ReturnType<typeof record> | null = null
    const [event] = await db.transaction(async (tx) => {
      // Registered before the commit, last in line: its backlog read waits for the transaction and
      // ends while the commit is handed out, one subscriber per turn.
      late = record(hub, { after: earlier[0].seq })
      return upsertBookings(tx, [booking('A')], 'write')
    })
    await expect.poll(() => crowd.every((s) => s.got.length === 1)).toBe(true)
    await expect.poll(() => late!.seqs()).toEqual([earlier[1].seq, earlier[2].seq, event.seq])
  })

  it('hands a commit to many subscribers over several turns of the event loop, never past their cursor', async () => {
    const hub = await startHub({ fanoutChunk: 100 })
    // The first subscriber to hear of the commit looks, at the next turn, at how many others have.
    let servedAt = -1
    const first = record(hub, {
      onEvents: () => setImmediate(() => (servedAt = subscribers.filter((s) => s.got.length > 0).length)),
    })
    const subscribers = Array.from({ length: 1_000 }, () => record(hub))
    await expect.poll(() => [first, ...subscribers].every((s) => s.log.length === 1)).toBe(true)
    const before = hub.position()
    const [event] = await write('A')
    await expect.poll(() => subscribers.every((s) => s.got.length === 1)).toBe(true)
    await expect.poll(() => servedAt).not.toBe(-1)
    expect(servedAt).toBeGreaterThan(0)
    expect(servedAt).toBeLessThan(subscribers.length)
    expect(hub.position()).toBe(event.seq)
    expect(hub.stats().fanoutPending).toBe(0)
    expect(compareSeq(event.seq, before)).toBeGreaterThan(0)
  })

  it('re-reads from the log when live events overflow the catch-up buffer', async () => {
    const hub = await startHub({ catchUpBuffer: 20 })
    const from = await headSeq(db)
    await write('A', 30)
    // A big transaction commits while the subscriber is still reading its backlog.
    const big = write('A', 50)
    const s = record(hub, { after: from, examIds: ['A'] })
    await big
    await expect.poll(() => s.got.length).toBe(80)
    expect(s.seqs()).toEqual(await allSeqs(['A'], from))
    expect(hub.stats().overflows).toBe(1)
  })

  it('answers refetch to a cursor past the head or older than retention', async () => {
    const hub = await startHub()
    const ahead = record(hub, { after: '999999999' })
    await expect.poll(() => ahead.log).toEqual([`refetch:${await headSeq(db)}`])
    await write('A', 3)
    await pruneEvents(db, 0, 1)
    const pruned = await prunedThrough(db)
    const old = record(hub, { after: String(Number(pruned) - 1) })
    await expect.poll(() => old.log).toEqual([`refetch:${hub.position()}`])
    expect(old.got).toEqual([])
    const fine = record(hub, { after: pruned })
    await expect.poll(() => fine.log.at(-1)).toBe(`ready:${hub.position()}`)
    expect(hub.stats().subscribers).toBe(1)
  })

  it('delivers whole, from the log, the envelopes of a transaction begun before it listened', async () => {
    // The safety poll is out of the way: the local announcement alone must bring the rows.
    const hub = await startHub({ safetyPollMs: 600_000 })
    const s = record(hub)
    await expect.poll(() => s.log[0]).toMatch(/^ready/)
    // As a transaction that began while no one here listened for rows: it announces envelopes.
    const written = await db.transaction((tx) =>
      upsertBookings({ ...tx, wantsRows: false }, [booking('A'), booking('A')], 'write'),
    )
    expect(written.map((event) => [event.row, event.changes])).toEqual([
      [undefined, undefined],
      [undefined, undefined],
    ])
    await expect.poll(() => s.seqs()).toEqual(written.map((e) => e.seq))
    expect(s.got.map((e) => e.row?.hubspot_id)).toEqual(written.map((e) => e.hubspot_id))
    expect(s.got.map((e) => e.changes?.mock_exam_id)).toEqual([
      [null, 'A'],
      [null, 'A'],
    ])
  })

  it('finds writes nobody announced with the safety poll', async () => {
    const hub = await startHub({ safetyPollMs: 30 })
    const s = record(hub)
    await expect.poll(() => s.log[0]).toMatch(/^ready/)
    // Written outside the driver's transaction(): no in-process announcement.
    await db.query(
      `INSERT INTO hubmirror.replica_events (kind, op, hubspot_id, exam_id, source, row_data) VALUES ('booking', 'upsert', 'x1', 'A', 'sync', '{}')`,
    )
    await expect.poll(() => s.got.map((e) => e.hubspot_id)).toEqual(['x1'])
  })

  it('on Postgres: NOTIFYs after commits (throttled), and re-reads the log on NOTIFY and on LISTEN reconnect', async () => {
    const notified: string[] = []
    let handlers: ListenHandlers | null = null
    const pgLike: ReplicaDriver = {
      ...db,
      kind: 'pg',
      topology: { mode: 'session', detectedBy: 'probe', wakeups: 'listen', locks: 'session', leaseTtlMs: 0 },
      notify: async (_channel, payload) => void notified.push(payload),
      listen: async (_channel, h) => {
        handlers = h
        return async () => undefined
      },
    }
    const hub = await startHub({ safetyPollMs: 60_000 }, pgLike)
    const s = record(hub)
    await expect.poll(() => s.log[0]).toMatch(/^ready/)
    const burst = (await Promise.all(Array.from({ length: 30 }, () => write('A')))).flat()
    await expect.poll(() => s.got.length).toBe(30)
    await expect
      .poll(() => notified.at(-1))
      .toBe(
        burst
          .map((e) => e.seq)
          .sort((a, b) => Number(a) - Number(b))
          .at(-1),
      )
    expect(notified.length).toBeLessThan(30)

    // Another instance's write: committed without our announcer, then announced by NOTIFY.
    await db.query(
      `INSERT INTO hubmirror.replica_events (kind, op, hubspot_id, exam_id, source, row_data) VALUES ('booking', 'upsert', 'n1', 'A', 'sync', '{}')`,
    )
    handlers!.onNotify(await headSeq(db))
    await expect.poll(() => s.got.at(-1)?.hubspot_id).toBe('n1')
    // A NOTIFY lost while LISTEN was down: the reconnect re-reads the log.
    await db.query(
      `INSERT INTO hubmirror.replica_events (kind, op, hubspot_id, exam_id, source, row_data) VALUES ('booking', 'upsert', 'r1', 'A', 'sync', '{}')`,
    )
    handlers!.onReconnect()
    await expect.poll(() => s.got.at(-1)?.hubspot_id).toBe('r1')
    expect(hub.stats().listenReconnects).toBe(1)
  })

  it('behind a transaction pooler (no LISTEN): polls the log head, so a write from another instance still arrives at once', async () => {
    // Head polls are counted, not timed: the write must arrive within the poll that first runs
    // after its commit (plus one that may already have been in flight), however busy the machine.
    let headPolls = 0
    const pooled: ReplicaDriver = {
      ...db,
      query<R>(sql: string, params?: unknown[]) {
        if (sql.includes('max(seq)')) headPolls++
        return db.query<R>(sql, params)
      },
      kind: 'pg',
      topology: { mode: 'transaction', detectedBy: 'probe', wakeups: 'poll', locks: 'lease', leaseTtlMs: 4_000 },
      notify: async () => undefined,
      listen: async () => {
        throw new Error('LISTEN through a transaction pooler')
      },
    }
    // The safety poll is out of the way: only the head poll can bring the write in.
    const hub = await startHub({ safetyPollMs: 60_000, headPollMs: 20 }, pooled)
    const s = record(hub)
    await expect.poll(() => s.log[0]).toMatch(/^ready/)
    await db.query(
      `INSERT INTO hubmirror.replica_events (kind, op, hubspot_id, exam_id, source, row_data) VALUES ('booking', 'upsert', 'p1', 'A', 'sync', '{}')`,
    )
    const pollsBefore = headPolls
    await expect.poll(() => s.got.at(-1)?.hubspot_id, { timeout: 30_000, interval: 5 }).toBe('p1')
    expect(headPolls - pollsBefore).toBeLessThanOrEqual(2)
  })

  it('counts watchers, lets long-polls linger, and ignores non-watching subscriptions', async () => {
    const hub = await startHub()
    const counts: number[] = []
    hub.onWatchersChanged((count) => counts.push(count))
    const a = record(hub)
    const b = record(hub, { lingerMs: 40 })
    record(hub, { watch: false })
    expect(hub.watcherCount()).toBe(2)
    a.subscription.close()
    b.subscription.close()
    expect(hub.watcherCount()).toBe(1)
    await expect.poll(() => hub.watcherCount()).toBe(0)
    expect(counts).toEqual([1, 2, 1, 0])
  })

  it('prunes on its own loop, at most once per period', async () => {
    await write('A', 5)
    const before = await prunedThrough(db)
    const hub = await startHub({ safetyPollMs: 20, pruneEveryMs: 10_000, retentionMs: 1, keepLatest: 2 })
    await expect.poll(async () => prunedThrough(db)).not.toBe(before)
    const head = await headSeq(db)
    expect(Number(await prunedThrough(db))).toBe(Number(head) - 2)
    await write('A', 5)
    await new Promise((resolve) => setTimeout(resolve, 100))
    expect(Number(await prunedThrough(db))).toBe(Number(head) - 2)
    expect(await hub.prune()).toBe(5)
  })

  it('ends every subscription on stop, and refuses new ones after', async () => {
    const hub = await startHub()
    const s = record(hub)
    await hub.stop()
    expect(s.log.at(-1)).toBe('end:shutdown')
    expect(hub.watcherCount()).toBe(0)
    const late = record(hub)
    await expect.poll(() => late.log).toEqual(['end:shutdown'])
  })
})

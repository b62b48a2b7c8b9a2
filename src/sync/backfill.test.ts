// The backfill's streams over a fake HubSpot: ranges, splitting, a slot before a range, planning pages kept, opaque cursors, abort and resume.
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { ResponseCache, createMemoryStore } from '../cache/index.js'
import type { HubSpotObject, PageOf, SearchRequest } from '../hubspot/index.js'
import { createLogger } from '../logger.js'
import { createApplier } from './apply.js'
import { runBackfill, type BackfillContext } from './backfill.js'
import { claim, type Job } from './backfill-claims.js'
import { rangePlan, type BackfillPlan } from './backfill-plan.js'
import type { Crm } from './crm-port.js'
import { emptyReplica, openScratchReplica } from '../../test/support/scratch-replica.js'
import { readSyncStates, type ReplicaDriver } from '../replica/index.js'

const T0 = Date.UTC(2026, 0, 1)
const TYPES = { exams: 'E', bookings: 'B' }

/** A HubSpot with gaps in its ids, list pages of 100 keyed on the next id (or on an opaque offset), and id search. */
function fakeCrm(
  counts: { exams: number; bookings: number },
  options: { opaqueAfter?: boolean; listDelayMs?: number } = {},
) {
  const data: Record<string, Array<{ id: number; ms: number }>> = {
    E: Array.from({ length: counts.exams }, (_, i) => ({ id: 1_000 + i * 3, ms: T0 + i })),
    B: Array.from({ length: counts.bookings }, (_, i) => ({ id: 50_000 + i * 7 + (i % 5), ms: T0 + i })),
  }
  const served = new Map<string, number>()
  const object = (rec: { id: number; ms: number }): HubSpotObject => ({
    id: String(rec.id),
    properties: { hs_lastmodifieddate: new Date(rec.ms).toISOString() },
    createdAt: new Date(T0).toISOString(),
    updatedAt: new Date(rec.ms).toISOString(),
    archived: false,
  })
  const pause = (ms = 3) => new Promise((resolve) => setTimeout(resolve, Math.random() * ms))
  const calls = { list: 0, search: 0 }
  const crm: Crm = {
    async listPage(type, { after, limit = 100 }) {
      calls.list += 1
      await pause(options.listDelayMs)
      const list = data[type]
      let start = 0
      if (after !== undefined)
        start = options.opaqueAfter ? Number(after.slice(2)) : list.findIndex((rec) => rec.id >= Number(after))
      if (start < 0) start = list.length
      const page = list.slice(start, start + limit)
      for (const rec of page) served.set(`${type}${rec.id}`, (served.get(`${type}${rec.id}`) ?? 0) + 1)
      const next =
        start + limit < list.length
          ? options.opaqueAfter
            ? `o:${start + limit}`
            : String(list[start + limit].id)
          : null
      return {
        results: page.map(object),
        ...(next ? { paging: { next: { after: next } } } : {}),
      } as PageOf<HubSpotObject>
    },
    async search(type, request: SearchRequest) {
      calls.search += 1
      await pause()
      // Filter groups are ORed, the filters within one ANDed, as HubSpot does.
      const groups = request.filterGroups ?? [{ filters: [] }]
      let list = data[type].filter((rec) =>
        groups.some((group) =>
          group.filters.every((f) => (f.operator === 'GTE' ? rec.id >= Number(f.value) : rec.id < Number(f.value))),
        ),
      )
      if (request.sorts?.[0]?.direction === 'DESCENDING') list = [...list].reverse()
      const page = list.slice(0, request.limit ?? 10)
      if ((request.limit ?? 10) > 1)
        for (const rec of page) served.set(`${type}${rec.id}`, (served.get(`${type}${rec.id}`) ?? 0) + 1)
      return {
        total: list.length,
        results: page.map(object),
        ...(list.length > page.length ? { paging: { next: { after: String(page.length) } } } : {}),
      }
    },
    async batchRead() {
      throw new Error('not used')
    },
  }
  return { crm, served, calls, data }
}

describe('backfill streams', () => {
  let db: ReplicaDriver
  beforeAll(async () => {
    db = await openScratchReplica()
  })
  beforeEach(async () => {
    await emptyReplica(db)
  })
  afterAll(() => db.close())

  const context = (crm: Crm, extra: Partial<BackfillContext> = {}): BackfillContext => ({
    db,
    crm,
    types: TYPES,
    applier: createApplier(db, new ResponseCache(createMemoryStore())),
    logger: createLogger('silent'),
    signal: new AbortController().signal,
    ...extra,
  })
  const count = async (table: string) =>
    Number((await db.query<{ n: string }>(`SELECT count(*)::text AS n FROM public.${table}`)).rows[0].n)

  it('writes every object once through parallel ranges, however they are split', async () => {
    // One slow list stream, one fast search stream: the search stream runs out of ranges and splits the list stream's.
    const { crm, served } = fakeCrm({ exams: 150, bookings: 6_000 }, { listDelayMs: 30 })
    const run = await runBackfill(context(crm, { listWorkers: 1, searchWorkers: 1 }), {})
    expect(run).toMatchObject({
      ran: true,
      resumed: false,
      fetched: 6_150,
      rows: { exams: 150, bookings: 6_000 },
      mode: { exams: 'single', bookings: 'ranges' },
    })
    expect(await count('hubspot_bookings')).toBe(6_000)
    const plan = (await readSyncStates<BackfillPlan>(db)).get('bookings')!.backfill!
    // Written once each (fetched above); read twice only where a list page ran past the end of its range.
    expect(served.size).toBe(6_150)
    const extra = [...served.values()].reduce((sum, n) => sum + n - 1, 0)
    expect(extra).toBeLessThanOrEqual(plan.ranges.length * 100)
    const sorted = [...plan.ranges].sort((a, b) =>
      a.from === null ? -1 : b.from === null ? 1 : Number(a.from) - Number(b.from),
    )
    for (let i = 1; i < sorted.length; i++) expect(sorted[i].from).toBe(sorted[i - 1].to)
    expect(sorted.at(-1)!.to).toBeNull()
  })

  it('takes a slot before a range: list pages waiting for the burst window hold no range from search', async () => {
    const { crm, calls } = fakeCrm({ exams: 10, bookings: 4_000 })
    let standard = 0
    let givenBack = 0
    // The burst window admits the probe and two pages, then nothing until search has read nearly everything.
    const slot: BackfillContext['slot'] = async (kind) => {
      if (kind === 'standard' && ++standard > 3)
        while (calls.search < 18) await new Promise((resolve) => setTimeout(resolve, 5))
      return { kind, use: (call) => call(), giveBack: () => void (givenBack += 1) }
    }
    const run = await runBackfill(context(crm, { slot }), {})
    expect(run).toMatchObject({ fetched: 4_010, rows: { bookings: 4_000 } })
    expect(await count('hubspot_bookings')).toBe(4_000)
    expect(calls.search).toBeGreaterThanOrEqual(18)
    // Whole pages of 200 from planning onwards: 20 pages hold the 4,000, and the list read a few.
    expect(calls.search).toBeLessThanOrEqual(22)
    expect(givenBack).toBeGreaterThanOrEqual(0)
  })

  it('fills every search page from several ranges, reading each object once', async () => {
    const { crm, served, calls } = fakeCrm({ exams: 10, bookings: 5_000 })
    const sizes: number[] = []
    const groups: number[] = []
    const recording: Crm = {
      ...crm,
      search: async (type, request) => {
        const page = await crm.search(type, request)
        if (type === 'B') sizes.push(page.results.length)
        groups.push(request.filterGroups?.length ?? 0)
        return page
      },
    }
    // Search alone: no list stream, so every range is read by search.
    const run = await runBackfill(context(recording, { listWorkers: 0, searchWorkers: 1 }), {})
    expect(run).toMatchObject({ fetched: 5_010, rows: { bookings: 5_000 } })
    expect(await count('hubspot_bookings')).toBe(5_000)
    // Once each, but for the ascending page's last object: the probe's list page starts with it.
    expect([...served].filter(([, n]) => n > 1).map(([id]) => id)).toEqual([`B${50_000 + 199 * 7 + (199 % 5)}`])
    // 25 pages of 200 hold the 5,000: all full but the last, with ranges of fewer than 200 packed together.
    expect(sizes.slice(0, -1)).toEqual(sizes.slice(0, -1).map(() => 200))
    expect(calls.search).toBe(Math.ceil(5_000 / 200) + 1)
    expect(Math.max(...groups)).toBeGreaterThan(1)
    expect(Math.max(...groups)).toBeLessThanOrEqual(5)
  })

  it('writes what the planning searches read: a small type needs no more calls', async () => {
    const { crm, calls } = fakeCrm({ exams: 150, bookings: 0 })
    const run = await runBackfill(context(crm), {})
    expect(run).toMatchObject({ fetched: 150, rows: { exams: 150 } })
    expect(await count('hubspot_mock_exams')).toBe(150)
    expect(calls).toEqual({ list: 0, search: 2 })
  })

  it('falls back to one list stream when `after` is not an id', async () => {
    const { crm, served } = fakeCrm({ exams: 10, bookings: 3_000 }, { opaqueAfter: true })
    const run = await runBackfill(context(crm), {})
    expect(run).toMatchObject({ fetched: 3_010, mode: { bookings: 'single' } })
    expect(await count('hubspot_bookings')).toBe(3_000)
    // One list stream reads everything once; only the planning pages (first and last 200, the probe's 100) were read before it.
    expect([...served.values()].filter((n) => n > 1).length).toBeLessThanOrEqual(500)
    expect([...served.values()].every((n) => n <= 2)).toBe(true)
  })

  it('never checkpoints rows it has not committed, whichever commit fails (seeded)', async () => {
    const seed = Number(process.env.BACKFILL_SEED ?? Date.now() % 100_000)
    let state = seed
    const random = () => (state = (state * 1_103_515_245 + 12_345) % 2 ** 31) / 2 ** 31
    for (let round = 0; round < 4; round++) {
      await emptyReplica(db)
      const { crm, data } = fakeCrm({ exams: 30, bookings: 3_000 })
      // A crash at a random commit: that batch rolls back while the other writer's may be in flight.
      const failAt = 2 + Math.floor(random() * 12)
      let commits = 0
      const crashing: ReplicaDriver = Object.create(db, {
        transaction: {
          value: <T>(fn: (tx: Parameters<Parameters<ReplicaDriver['transaction']>[0]>[0]) => Promise<T>) =>
            db.transaction(async (tx) => {
              const value = await fn(tx)
              if (++commits === failAt) throw new Error('crashed before COMMIT')
              return value
            }),
        },
      })
      const cache = new ResponseCache(createMemoryStore())
      await expect(
        runBackfill(context(crm, { applier: createApplier(crashing, cache) }), {}),
        `seed ${seed} round ${round}`,
      ).rejects.toThrow('crashed before COMMIT')
      const stored = new Set(
        (await db.query<{ id: string }>('SELECT hubspot_id AS id FROM public.hubspot_bookings')).rows.map((r) => r.id),
      )
      const plan = (await readSyncStates<BackfillPlan>(db)).get('bookings')!.backfill
      for (const range of plan?.ranges ?? []) {
        const upTo = range.done ? range.to : range.next
        const claimed = data.B.filter(
          (rec) => (range.from === null || rec.id >= Number(range.from)) && (upTo === null || rec.id < Number(upTo)),
        )
        if (!range.done && range.next === range.from) continue
        const missing = claimed.filter((rec) => !stored.has(String(rec.id)))
        expect(
          missing,
          `seed ${seed} round ${round}: range ${range.from}–${range.to} checkpointed unwritten rows`,
        ).toEqual([])
      }
      const resumed = await runBackfill(context(crm), {})
      expect(resumed.rows.bookings, `seed ${seed} round ${round}`).toBe(3_000)
      expect(await count('hubspot_bookings')).toBe(3_000)
    }
  })

  it('resumes an aborted backfill from its checkpoint, fetching only what was not committed', async () => {
    const { crm } = fakeCrm({ exams: 120, bookings: 8_000 })
    const abort = new AbortController()
    let pages = 0
    const counting: Crm = {
      ...crm,
      listPage: async (type, options) => {
        if (++pages === 25) abort.abort(new Error('killed'))
        return crm.listPage(type, options)
      },
    }
    await expect(runBackfill(context(counting, { signal: abort.signal }), {})).rejects.toThrow('killed')
    const states = await readSyncStates<BackfillPlan>(db)
    const committed = [...states.values()].reduce(
      (sum, state) => sum + (state.backfill?.ranges.reduce((n, r) => n + r.rows, 0) ?? 0),
      0,
    )
    expect(committed).toBeGreaterThan(0)
    expect(committed).toBeLessThan(8_120)
    expect(await count('hubspot_bookings')).toBeLessThanOrEqual(committed)

    const resumed = await runBackfill(context(crm), {})
    expect(resumed).toMatchObject({
      ran: true,
      resumed: true,
      rows: { exams: 120, bookings: 8_000 },
      fetched: 8_120 - committed,
    })
    expect(await count('hubspot_bookings')).toBe(8_000)
    const after = await readSyncStates<BackfillPlan>(db)
    expect(after.get('bookings')!.cursorMs).toBe(Math.min(after.get('bookings')!.backfill!.started_at_ms, T0 + 7_999))
    expect(after.get('bookings')!.backfill!.started_at_ms).toBe(states.get('bookings')!.backfill!.started_at_ms)
    expect(await runBackfill(context(crm), {})).toMatchObject({ ran: false })
  })

  it('splits the widest range in progress at the middle of what is left, past what its reader fetched', () => {
    const plan = rangePlan(0, 4_000, 1_000n, 9_000n, 1_000)
    const jobs: Job[] = plan.ranges.map((range) => ({
      type: 'bookings',
      plan,
      range,
      fetchNext: range.next,
      claimed: true,
      fetchDone: false,
    }))
    jobs[0].fetchDone = true
    jobs[1].fetchNext = '3500'
    jobs[2].fetchNext = '6000'
    jobs[3].fetchNext = '8900'
    const stolen = claim(jobs, 'search')!
    // Range 1 is [3000, 5000) and read up to 3500: 1,500 ids left, the most; split at 4250.
    expect(jobs[1].range.to).toBe('4250')
    expect(stolen.range).toEqual({ from: '4250', to: '5000', next: '4250', done: false, rows: 0 })
    expect(stolen.claimed).toBe(true)
    expect(plan.ranges).toContain(stolen.range)
    // What is left everywhere is now under the threshold (400 objects ≈ 800 ids here): no more splits.
    jobs[1].fetchNext = '3900'
    stolen.fetchNext = '4300'
    jobs[2].fetchNext = '6500'
    jobs[3].fetchNext = '8800'
    expect(claim(jobs, 'list')).toBeUndefined()
  })
})

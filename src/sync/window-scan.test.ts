// The modified-window scan against a fake HubSpot search that enforces the 10,000-result cap and sorts like HubSpot.
import { describe, expect, it } from 'vitest'
import type { HubSpotObject, PageOf, SearchFilter, SearchRequest } from '../hubspot/index.js'
import { AppError } from '../errors.js'
import { modifiedMs } from '../hubspot/index.js'
import { nextCursor, scanById, scanModified } from './window-scan.js'

interface Rec {
  id: number
  ms: number
}

/**
 * Filters AND-ed in a group, groups OR-ed, one sort, offset paging, and a 400 past 10,000 like
 * HubSpot. `refuseNotIn`: answer NOT_IN with HubSpot's 400, as a HubSpot that does not take it would.
 */
function fakeSearch(records: Rec[], calls: SearchRequest[] = [], options: { refuseNotIn?: boolean } = {}) {
  const value = (rec: Rec, name: string) => (name === 'hs_object_id' ? rec.id : rec.ms)
  const test = (rec: Rec, f: SearchFilter) => {
    const v = value(rec, f.propertyName)
    const t = Number(f.value)
    switch (f.operator) {
      case 'GTE':
        return v >= t
      case 'GT':
        return v > t
      case 'LTE':
        return v <= t
      case 'LT':
        return v < t
      case 'EQ':
        return v === t
      case 'IN':
        return f.values!.map(Number).includes(v)
      case 'NOT_IN':
        return !f.values!.map(Number).includes(v)
      default:
        throw new Error(`operator ${f.operator}`)
    }
  }
  return async (request: SearchRequest): Promise<PageOf<HubSpotObject>> => {
    calls.push(request)
    const after = Number(request.after ?? 0)
    if (after >= 10_000) throw new Error('400: paging past 10,000 results')
    const groups = request.filterGroups ?? [{ filters: [] }]
    if (options.refuseNotIn && groups.some((g) => g.filters.some((f) => f.operator === 'NOT_IN')))
      throw new AppError('E_HUBSPOT_REJECTED', 'HubSpot rejected the search: NOT_IN is not allowed here')
    const sort = request.sorts?.[0]?.propertyName ?? 'hs_object_id'
    const matches = records.filter((rec) => groups.some((g) => g.filters.every((f) => test(rec, f))))
    // Ties in HubSpot's order are not by id: reverse them, so that nothing may rely on it.
    matches.sort((a, b) => value(a, sort) - value(b, sort) || b.id - a.id)
    const limit = request.limit ?? 10
    const end = Math.min(after + limit, 10_000)
    const page = matches.slice(after, end)
    return {
      total: matches.length,
      results: page.map((rec) => ({
        id: String(rec.id),
        properties: { hs_lastmodifieddate: new Date(rec.ms).toISOString() },
        createdAt: '',
        updatedAt: '',
        archived: false,
      })),
      ...(end < Math.min(matches.length, 10_000) ? { paging: { next: { after: String(end) } } } : {}),
    }
  }
}

async function collect(gen: AsyncGenerator<HubSpotObject[]>): Promise<string[]> {
  const ids: string[] = []
  for await (const page of gen) for (const object of page) ids.push(object.id)
  return ids
}

const T0 = Date.UTC(2026, 0, 1)

describe('scanModified', () => {
  it('reads 25,000 records with distinct timestamps, past the 10,000 cap, without any offset', async () => {
    const records = Array.from({ length: 25_000 }, (_, i) => ({ id: i + 1, ms: T0 + i * 10 }))
    const calls: SearchRequest[] = []
    const ids = await collect(scanModified(fakeSearch(records, calls), { fromMs: T0, toMs: T0 + 1e9 }, []))
    expect(new Set(ids).size).toBe(25_000)
    expect(calls.every((call) => call.after === undefined)).toBe(true)
    // A page of 200 new records each: the next page leaves out what was read at its anchor.
    expect(calls.length).toBeLessThanOrEqual(25_000 / 200 + 1)
  })

  it('does not loop when more than 10,000 records share one timestamp', async () => {
    const before = Array.from({ length: 300 }, (_, i) => ({ id: 100_000 + i, ms: T0 + i }))
    const tied = Array.from({ length: 12_345 }, (_, i) => ({ id: 200_000 + i, ms: T0 + 1_000 }))
    const after = Array.from({ length: 500 }, (_, i) => ({ id: 50_000 + i, ms: T0 + 2_000 + i }))
    const calls: SearchRequest[] = []
    const ids = await collect(
      scanModified(fakeSearch([...before, ...tied, ...after], calls), { fromMs: T0, toMs: T0 + 10_000 }, []),
    )
    expect(new Set(ids).size).toBe(300 + 12_345 + 500)
    expect(calls.length).toBeLessThan(100)
    expect(calls.some((call) => call.sorts?.[0].propertyName === 'hs_object_id')).toBe(true)
  })

  it('handles ties at every page edge and respects the window bounds', async () => {
    const records = Array.from({ length: 5_000 }, (_, i) => ({ id: i + 1, ms: T0 + Math.floor(i / 150) }))
    const ids = await collect(scanModified(fakeSearch(records), { fromMs: T0 + 3, toMs: T0 + 20 }, []))
    const expected = records.filter((r) => r.ms >= T0 + 3 && r.ms <= T0 + 20).map((r) => String(r.id))
    expect(new Set(ids)).toEqual(new Set(expected))
  })

  it('reads a bulk change (100 records a timestamp, as the emulator stamps a batch update) in pages of 200 new records', async () => {
    const records = Array.from({ length: 10_000 }, (_, i) => ({ id: i + 1, ms: T0 + Math.floor(i / 100) * 7 }))
    const calls: SearchRequest[] = []
    const ids = await collect(scanModified(fakeSearch(records, calls), { fromMs: T0, toMs: T0 + 1e6 }, []))
    expect(ids).toHaveLength(10_000)
    expect(new Set(ids).size).toBe(10_000)
    // Re-reading each page's last timestamp would take 100 pages.
    expect(calls.length).toBeLessThanOrEqual(51)
  })

  it('reads the last timestamp again where HubSpot refuses NOT_IN, and still misses nothing', async () => {
    const records = Array.from({ length: 3_000 }, (_, i) => ({ id: i + 1, ms: T0 + Math.floor(i / 100) }))
    const calls: SearchRequest[] = []
    const ids = await collect(
      scanModified(fakeSearch(records, calls, { refuseNotIn: true }), { fromMs: T0, toMs: T0 + 1e6 }, []),
    )
    expect(new Set(ids).size).toBe(3_000)
    // One refused request, then no NOT_IN again.
    expect(calls.filter((call) => JSON.stringify(call).includes('NOT_IN'))).toHaveLength(1)
  })

  it('misses no record under seeded random ties and edits made while it reads', async () => {
    const seed = Number(process.env.SCAN_SEED ?? Date.now() % 1_000_000)
    let state = seed
    const random = () => (state = (state * 48271) % 2147483647) / 2147483647
    for (let round = 0; round < 20; round++) {
      const records: Rec[] = []
      let ms = T0
      while (records.length < 3_000) {
        const tie = 1 + Math.floor(random() ** 3 * 260)
        for (let i = 0; i < tie; i++) records.push({ id: 1 + Math.floor(random() * 1e9), ms })
        ms += 1 + Math.floor(random() * 3)
      }
      const toMs = ms + 1_000
      const search = fakeSearch(records)
      // Between pages some records are edited: they move past everything, still inside the window.
      const editing = async (request: SearchRequest) => {
        for (let i = 0; i < 5; i++) {
          const record = records[Math.floor(random() * records.length)]!
          record.ms = Math.max(...records.map((r) => r.ms)) + 1
        }
        return search(request)
      }
      const ids = new Set(await collect(scanModified(editing, { fromMs: T0, toMs }, [])))
      const missed = records.filter((r) => !ids.has(String(r.id)))
      expect(missed, `seed ${seed} (SCAN_SEED=${seed} replays it), round ${round}`).toEqual([])
    }
  })

  it('stops on an empty window', async () => {
    const calls: SearchRequest[] = []
    expect(await collect(scanModified(fakeSearch([], calls), { fromMs: T0, toMs: T0 + 5 }, []))).toEqual([])
    expect(calls).toHaveLength(1)
  })
})

describe('scanById', () => {
  it('pages by id keyset through more than 10,000 matches', async () => {
    const records = Array.from({ length: 10_500 }, (_, i) => ({ id: i + 1, ms: T0 }))
    const ids = await collect(
      scanById(fakeSearch(records), [{ propertyName: 'hs_lastmodifieddate', operator: 'EQ', value: String(T0) }], []),
    )
    expect(ids).toHaveLength(10_500)
    expect(new Set(ids).size).toBe(10_500)
  })
})

describe('nextCursor', () => {
  it('is min(upper bound, newest seen), never backwards, unchanged when nothing was seen', () => {
    expect(nextCursor(null, 1_000, 800)).toBe(800)
    expect(nextCursor(500, 1_000, 1_500)).toBe(1_000)
    expect(nextCursor(900, 1_000, 700)).toBe(900)
    expect(nextCursor(900, 1_000, null)).toBe(900)
    expect(nextCursor(null, 1_000, null)).toBe(null)
  })

  it('reads hs_lastmodifieddate as ISO or epoch ms', () => {
    const object = (value: string) => ({
      id: '1',
      properties: { hs_lastmodifieddate: value },
      createdAt: '',
      updatedAt: '',
      archived: false,
    })
    expect(modifiedMs(object('2026-01-01T00:00:00.123Z'))).toBe(T0 + 123)
    expect(modifiedMs(object(String(T0 + 5)))).toBe(T0 + 5)
  })
})

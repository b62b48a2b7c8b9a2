// The incremental pull over a fake HubSpot whose search index lags out of order: the look-back window, cursors, archived cursor.
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import type { HubSpotObject, SearchRequest } from '../hubspot/index.js'
import type { ReplicaDriver } from '../replica/index.js'
import { createApplier } from './apply.js'
import type { Crm } from './crm-port.js'
import { pullType, type PullContext } from './pull.js'
import { emptyReplica, openScratchReplica } from '../../test/support/scratch-replica.js'
import { readSyncState } from '../replica/index.js'

const NOW = Date.now()

interface Rec {
  id: string
  ms: number
  visible: boolean
  archivedAt?: number
}

function fakeCrm(records: Rec[]): Crm {
  const object = (rec: Rec): HubSpotObject => ({
    id: rec.id,
    properties: { hs_lastmodifieddate: new Date(rec.ms).toISOString() },
    createdAt: new Date(rec.ms).toISOString(),
    updatedAt: new Date(rec.ms).toISOString(),
    archived: rec.archivedAt !== undefined,
    ...(rec.archivedAt !== undefined ? { archivedAt: new Date(rec.archivedAt).toISOString() } : {}),
  })
  return {
    async search(_type, request: SearchRequest) {
      const filters = request.filterGroups?.[0]?.filters ?? []
      const hits = records
        .filter((rec) => rec.visible && rec.archivedAt === undefined)
        .filter((rec) =>
          filters.every((f) =>
            f.operator === 'GTE' ? rec.ms >= Number(f.value) : f.operator === 'LTE' ? rec.ms <= Number(f.value) : true,
          ),
        )
        .sort((a, b) => a.ms - b.ms)
      return { total: hits.length, results: hits.slice(0, request.limit).map(object) }
    },
    async listPage(_type, options) {
      return {
        results: records.filter((rec) => (rec.archivedAt !== undefined) === Boolean(options.archived)).map(object),
      }
    },
    async batchRead() {
      throw new Error('not used')
    },
  }
}

describe('incremental pull', () => {
  let db: ReplicaDriver
  beforeAll(async () => {
    db = await openScratchReplica()
  })
  beforeEach(async () => {
    await emptyReplica(db)
    await db.query(
      `INSERT INTO hubmirror.sync_state (object_type, cursor_ms, archived_cursor_ms) VALUES ('bookings', $1, $1)`,
      [NOW - 600_000],
    )
  })
  afterAll(() => db.close())

  const context = (crm: Crm, lookbackMs: number): PullContext => ({
    db,
    crm,
    types: { exams: 'E', bookings: 'B' },
    applier: createApplier(db),
    signal: new AbortController().signal,
    lookbackMs,
    reason: 'cli',
  })
  const live = async () =>
    (
      await db.query<{ hubspot_id: string }>(
        'SELECT hubspot_id FROM public.hubspot_bookings WHERE deleted_at IS NULL ORDER BY 1',
      )
    ).rows.map((r) => r.hubspot_id)

  // A was modified before B but reached the search index after it: the cursor moves past A.
  const lagging = (): Rec[] => [
    { id: '1', ms: NOW - 20_000, visible: false },
    { id: '2', ms: NOW - 10_000, visible: true },
  ]

  it('finds a change that reached search after a newer one, thanks to the look-back window', async () => {
    const records = lagging()
    const first = await pullType(context(fakeCrm(records), 60_000), 'bookings')
    expect(first).toMatchObject({ fetched: 1, changed: 1, cursor: new Date(NOW - 10_000).toISOString() })
    records[0].visible = true
    const second = await pullType(context(fakeCrm(records), 60_000), 'bookings')
    expect(second.changed).toBe(1)
    expect(await live()).toEqual(['1', '2'])
  })

  it('would miss it without one (which is why the look-back exists)', async () => {
    const records = lagging()
    await pullType(context(fakeCrm(records), 0), 'bookings')
    records[0].visible = true
    expect((await pullType(context(fakeCrm(records), 0), 'bookings')).changed).toBe(0)
    expect(await live()).toEqual(['2'])
  })

  it('soft-deletes only what was archived after the archived cursor (less the look-back), and moves that cursor', async () => {
    const records: Rec[] = [
      { id: '1', ms: NOW - 5_000, visible: true },
      { id: '2', ms: NOW - 5_000, visible: true },
      { id: '3', ms: NOW - 5_000, visible: true },
    ]
    await pullType(context(fakeCrm(records), 1_000), 'bookings')
    records[0].archivedAt = NOW - 700_000
    records[1].archivedAt = NOW - 1_000
    const result = await pullType(context(fakeCrm(records), 1_000), 'bookings')
    expect(result.deleted).toBe(1)
    // Archived long before the cursor: that one was dealt with by an earlier pull (here it was not, on purpose).
    expect(await live()).toEqual(['1', '3'])
    expect((await readSyncState(db, 'bookings')).archivedCursorMs).toBe(NOW - 1_000)
    // With deletes off (the catch-up after a backfill) the listing is not read and the cursor stays.
    records[2].archivedAt = Date.now()
    expect((await pullType({ ...context(fakeCrm(records), 1_000), deletes: false }, 'bookings')).deleted).toBe(0)
    expect((await readSyncState(db, 'bookings')).archivedCursorMs).toBe(NOW - 1_000)
  })
})

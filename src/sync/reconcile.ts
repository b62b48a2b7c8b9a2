// Reconcile: compares ids and hs_lastmodifieddate on both sides through full listings; reports drift and, asked to, repairs it.
import { BATCH_MAX, modifiedMs } from '../hubspot/index.js'
import { chunks } from '../model/chunks.js'
import { compareHubSpotIds, rowVersionsBetween, writeStateValue } from '../replica/index.js'
import type { SyncContext } from './context.js'
import { refreshByIds, type TargetContext } from './targeted.js'
import { SYNC_TYPES, type DriftReport, type SyncType, type TypeDrift, type TypePullResult } from './types.js'
import { MODIFIED } from './window-scan.js'

export const DRIFT_KEY = 'drift_report'
const SAMPLES = 20

export interface ReconcileContext extends SyncContext {
  /** The client's request count, to report what reconcile cost. */
  calls(): number
  /** Told the phase and how many HubSpot objects have been listed so far. */
  onProgress?(phase: string, listed: number): void
}

interface Drift {
  missing: string[]
  extra: string[]
  stale: string[]
  hubspotRows: number
  replicaRows: number
}

export async function reconcile(ctx: ReconcileContext, fix: boolean): Promise<DriftReport> {
  const started = Date.now()
  const calls = ctx.calls()
  const drift = {} as Record<SyncType, Drift>
  let listed = 0
  for (const type of SYNC_TYPES) {
    ctx.onProgress?.(`comparing ${type}`, listed)
    drift[type] = await compare(ctx, type, (n) => ctx.onProgress?.(`comparing ${type}`, (listed += n)))
  }
  let fixed = 0
  if (fix)
    for (const type of SYNC_TYPES) {
      ctx.onProgress?.(`repairing ${type}`, listed)
      fixed += await repair(ctx, type, drift[type])
    }
  const objects = {} as Record<SyncType, TypeDrift>
  for (const type of SYNC_TYPES) objects[type] = summary(drift[type])
  const total = (key: 'missing_in_replica' | 'extra_in_replica' | 'stale_in_replica') =>
    SYNC_TYPES.reduce((sum, type) => sum + objects[type][key], 0)
  const report: DriftReport = {
    checked_at: new Date(started).toISOString(),
    missing_in_replica: total('missing_in_replica'),
    extra_in_replica: total('extra_in_replica'),
    stale_in_replica: total('stale_in_replica'),
    fixed,
    objects,
    calls: ctx.calls() - calls,
    ms: Date.now() - started,
  }
  await writeStateValue(ctx.db, DRIFT_KEY, report)
  return report
}

/** Replica rows read per query while walking a window (a window is one listing page's id range). */
const REPLICA_BATCH = 1000

/**
 * A merge of two id-ordered streams: HubSpot lists objects in ascending id order, and the replica
 * is read beside it, one window per page (the ids after the previous page's last, up to this
 * page's last; the last page's window is open-ended). Memory is a page and a window, not every id
 * twice: two full id maps took 1M bookings' worth of objects (bench/RESULTS.md, "Scale").
 * A row created while reconcile runs has an id above every listed one, so it is either not yet
 * listed (and compared when it is) or falls in the last window, where an "extra" HubSpot does have
 * is simply written by --fix.
 */
async function compare(ctx: ReconcileContext, type: SyncType, onPage: (listed: number) => void): Promise<Drift> {
  const drift: Drift = { missing: [], extra: [], stale: [], hubspotRows: 0, replicaRows: 0 }
  let previous: string | null = null
  let after: string | undefined
  do {
    ctx.signal.throwIfAborted()
    const page = await ctx.crm.listPage(ctx.types[type], { after, properties: [MODIFIED] })
    after = page.paging?.next?.after
    const listed = new Map(page.results.map((object) => [object.id, modifiedMs(object)]))
    drift.hubspotRows += listed.size
    const ids = [...listed.keys()].sort(compareHubSpotIds)
    const through: string | null = after === undefined ? null : (ids.at(-1) ?? previous)
    for (let from = previous; ;) {
      const rows = await rowVersionsBetween(ctx.db, type, from, through, REPLICA_BATCH)
      for (const row of rows) {
        if (!row.deleted) drift.replicaRows += 1
        const ms = listed.get(row.hubspot_id)
        if (ms === undefined) {
          if (!row.deleted) drift.extra.push(row.hubspot_id)
          continue
        }
        listed.delete(row.hubspot_id)
        if (row.deleted) drift.missing.push(row.hubspot_id)
        else if (row.ms !== ms) drift.stale.push(row.hubspot_id)
      }
      if (rows.length < REPLICA_BATCH) break
      from = rows.at(-1)!.hubspot_id
    }
    // Listed, and no row in the window: the replica does not have it.
    for (const id of ids) if (listed.has(id)) drift.missing.push(id)
    previous = through
    onPage(page.results.length)
  } while (after)
  return drift
}

/**
 * Every drifted id is read again, fresh, and written with force (a stale row may carry a
 * version newer than HubSpot's, which a versioned upsert would keep). An id HubSpot does not
 * have is soft-deleted; an "extra" HubSpot does have (created meanwhile) is simply written.
 */
async function repair(ctx: ReconcileContext, type: SyncType, drift: Drift): Promise<number> {
  const target: TargetContext = { ...ctx, force: true, source: 'manual' }
  const counts: TypePullResult = { fetched: 0, changed: 0, deleted: 0, cursor: null, calls: 0 }
  const ids = [...drift.missing, ...drift.stale, ...drift.extra]
  for (const chunk of chunks(ids, BATCH_MAX)) await refreshByIds(target, type, chunk, counts)
  return counts.changed + counts.deleted
}

function summary(drift: Drift): TypeDrift {
  return {
    missing_in_replica: drift.missing.length,
    extra_in_replica: drift.extra.length,
    stale_in_replica: drift.stale.length,
    hubspot_rows: drift.hubspotRows,
    replica_rows: drift.replicaRows,
    samples: {
      missing: drift.missing.slice(0, SAMPLES),
      extra: drift.extra.slice(0, SAMPLES),
      stale: drift.stale.slice(0, SAMPLES),
    },
  }
}

// Reconcile: compares ids and hs_lastmodifieddate on both sides through full listings; reports drift and, asked to, repairs it.
import { BATCH_MAX, modifiedMs } from '../hubspot/index.js'
import { chunks } from '../model/chunks.js'
import { rowVersions, writeStateValue } from '../replica/index.js'
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

/**
 * The replica is read before HubSpot is listed: a row created after the snapshot is simply not
 * compared, rather than reported as extra because the listing had already passed it.
 */
async function compare(ctx: ReconcileContext, type: SyncType, onPage: (listed: number) => void): Promise<Drift> {
  const rows = await rowVersions(ctx.db, type)
  const replica = new Map(rows.map((row) => [row.hubspot_id, { ms: row.ms, deleted: row.deleted }]))
  const drift: Drift = {
    missing: [],
    extra: [],
    stale: [],
    hubspotRows: 0,
    replicaRows: rows.filter((row) => !row.deleted).length,
  }
  const seen = new Set<string>()
  let after: string | undefined
  do {
    ctx.signal.throwIfAborted()
    const page = await ctx.crm.listPage(ctx.types[type], { after, properties: [MODIFIED] })
    for (const object of page.results) {
      seen.add(object.id)
      drift.hubspotRows += 1
      const row = replica.get(object.id)
      if (!row || row.deleted) drift.missing.push(object.id)
      else if (row.ms !== modifiedMs(object)) drift.stale.push(object.id)
    }
    onPage(page.results.length)
    after = page.paging?.next?.after
  } while (after)
  for (const [id, row] of replica) if (!row.deleted && !seen.has(id)) drift.extra.push(id)
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

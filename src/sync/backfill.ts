// The backfill: lists whole object types in id ranges, in parallel, into batched replica writes that carry their own checkpoint.
// Planning and paging live in backfill-fetch.ts, the claim policy in backfill-claims.ts, the streams in
// backfill-scheduler.ts and the batched writes in backfill-writer.ts; this file runs them and falls back.
import type { HeldSlot } from '../hubspot/index.js'
import type { Logger } from '../logger.js'
import { completeBackfill, readSyncStates, resetSyncState, saveBackfillPlan } from '../replica/index.js'
import { AfterIsOpaque, planType, type Planned } from './backfill-fetch.js'
import { backfillCursor, rowsDone, singlePlan, type BackfillPlan } from './backfill-plan.js'
import { fetchAll } from './backfill-scheduler.js'
import type { SyncContext } from './context.js'
import { SYNC_TYPES, type ProgressReporter, type SyncType } from './types.js'

export interface BackfillContext extends SyncContext {
  logger: Logger
  /** List pages in flight at most (default: as many as the burst budget admits; one without `slot`). */
  listWorkers?: number
  /** Id-range searches in flight at most: search has its own per-second bucket, so this is throughput on top. */
  searchWorkers?: number
  /** Takes a slot of the rate budget ahead of the call it will be spent on (none: calls are not limited here). */
  slot?: (kind: 'standard' | 'search', signal: AbortSignal) => Promise<HeldSlot>
}

export interface BackfillRun {
  ran: boolean
  resumed: boolean
  /** Rows committed, this run and any it resumed. */
  rows: Record<SyncType, number>
  /** Rows fetched and written by this run alone. */
  fetched: number
  mode: Record<SyncType, 'ranges' | 'single'>
}

/**
 * Plans the types not yet backfilled (or resumes their saved plans), reads them in id ranges, and
 * falls back to one opaque list stream per type if HubSpot's `after` turns out not to be an id.
 */
export async function runBackfill(
  ctx: BackfillContext,
  options: { restart?: boolean; progress?: ProgressReporter },
): Promise<BackfillRun> {
  const startedAt = Date.now()
  if (options.restart) for (const type of SYNC_TYPES) await resetSyncState(ctx.db, type)
  const states = await readSyncStates<BackfillPlan>(ctx.db)
  const plans = new Map<SyncType, BackfillPlan>()
  const planned = new Map<SyncType, Planned>()
  let resumed = false
  for (const type of SYNC_TYPES) {
    const state = states.get(type)!
    if (state.cursorMs !== null) continue
    if (state.backfill && !state.backfill.done) {
      plans.set(type, state.backfill)
      resumed = true
      continue
    }
    planned.set(type, null as unknown as Planned)
  }
  // The types are planned at once: planning is a few round trips each, all spent before any row is read.
  await Promise.all(
    [...planned.keys()].map(async (type) => {
      const fresh = await planType(ctx, type, startedAt)
      await saveBackfillPlan(ctx.db, type, fresh.plan)
      planned.set(type, fresh)
      plans.set(type, fresh.plan)
    }),
  )
  const rows = { exams: 0, bookings: 0 }
  const mode = { exams: 'single', bookings: 'single' } as BackfillRun['mode']
  if (plans.size === 0) return { ran: false, resumed: false, rows, fetched: 0, mode }
  const counter = { fetched: 0 }

  for (;;) {
    try {
      // What the planning searches read is written once, by the first attempt.
      await fetchAll(ctx, plans, counter, options.progress, new Map(planned))
      planned.clear()
      break
    } catch (error) {
      if (!(error instanceof AfterIsOpaque)) throw error
      // Rows already written stay (upserts are idempotent); only the reading strategy changes.
      ctx.logger.warn({ err: error }, 'HubSpot paging cursor is not an id: backfilling with one list stream')
      for (const [type, plan] of plans) {
        if (plan.mode !== 'ranges' || plan.done) continue
        const single = { ...singlePlan(plan.started_at_ms, plan.total), max_seen_ms: plan.max_seen_ms }
        await saveBackfillPlan(ctx.db, type, single)
        plans.set(type, single)
      }
    }
  }
  for (const [type, plan] of plans) {
    plan.done = true
    await completeBackfill(ctx.db, type, plan, backfillCursor(plan), plan.started_at_ms)
    rows[type] = rowsDone(plan)
    mode[type] = plan.mode
  }
  return { ran: true, resumed, rows, fetched: counter.fetched, mode }
}

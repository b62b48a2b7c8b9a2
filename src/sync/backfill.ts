// The backfill: lists whole object types in id ranges, in parallel, into batched replica writes that carry their own checkpoint.
import { setTimeout as sleep } from 'node:timers/promises'
import { AppError } from '../errors.js'
import { modifiedMs, SEARCH_PAGE_MAX, type HubSpotObject, type SearchFilter } from '../hubspot/index.js'
import type { Logger } from '../logger.js'
import { completeBackfill, readSyncStates, resetSyncState, saveBackfillPlan } from '../replica/index.js'
import { PROPERTIES } from './apply.js'
import {
  MIN_RANGE_ROWS,
  MIN_SPLIT_ROWS,
  backfillCursor,
  rangePlan,
  rowsDone,
  singlePlan,
  type BackfillPlan,
  type RangeCheckpoint,
} from './backfill-plan.js'
import type { SyncContext } from './context.js'
import { OBJECT_ID } from './window-scan.js'
import { SYNC_TYPES, type ProgressReporter, type SyncType } from './types.js'

export interface BackfillContext extends SyncContext {
  logger: Logger
  /** Concurrent list streams (they share the burst budget; more only hides latency). */
  listWorkers?: number
  /** Concurrent id-range searches: search has its own per-second bucket, so this is throughput on top. */
  searchWorkers?: number
  /** True while the burst window is used up: list streams then hand their ranges to search streams. */
  burstFull?: () => Promise<boolean>
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

const SEARCH_PAGE = SEARCH_PAGE_MAX
/** Rows per replica transaction: big enough to amortise the commit, small enough to checkpoint often. */
const MAX_BATCH_ROWS = 1000
/** Fetchers wait when this many rows are fetched but not yet written. */
const MAX_QUEUED_ROWS = 4000
/** How long a stream with nothing to do waits before looking again. */
const IDLE_MS = 100

/** The list's `after` turned out not to be an id: fall back to one opaque stream. */
class AfterIsOpaque extends Error {}

const idNumber = (id: string): bigint => {
  if (!/^\d+$/.test(id)) throw new AfterIsOpaque(`id ${id} is not numeric`)
  return BigInt(id)
}

export interface Job {
  type: SyncType
  plan: BackfillPlan
  range: RangeCheckpoint
  /** Where the fetcher is; range.next is where the committed rows are. */
  fetchNext: string | null
  claimed: boolean
  fetchDone: boolean
}

interface Fetched {
  job: Job
  objects: HubSpotObject[]
  next: string | null
  done: boolean
}

export async function runBackfill(
  ctx: BackfillContext,
  options: { restart?: boolean; progress?: ProgressReporter },
): Promise<BackfillRun> {
  const startedAt = Date.now()
  if (options.restart) for (const type of SYNC_TYPES) await resetSyncState(ctx.db, type)
  const states = await readSyncStates<BackfillPlan>(ctx.db)
  const plans = new Map<SyncType, BackfillPlan>()
  let resumed = false
  for (const type of SYNC_TYPES) {
    const state = states.get(type)!
    if (state.cursorMs !== null) continue
    if (state.backfill && !state.backfill.done) {
      plans.set(type, state.backfill)
      resumed = true
      continue
    }
    const plan = await planType(ctx, type, startedAt)
    await saveBackfillPlan(ctx.db, type, plan)
    plans.set(type, plan)
  }
  const rows = { exams: 0, bookings: 0 }
  const mode = { exams: 'single', bookings: 'single' } as BackfillRun['mode']
  if (plans.size === 0) return { ran: false, resumed: false, rows, fetched: 0, mode }
  const counter = { fetched: 0 }

  for (;;) {
    try {
      await fetchAll(ctx, plans, counter, options.progress)
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

/**
 * HubSpot documents `after` as the next record's id but says to treat it as opaque; ranges rely
 * on the former, so one probe checks it before planning on it. Small types are not worth it.
 */
async function planType(ctx: BackfillContext, type: SyncType, startedAt: number): Promise<BackfillPlan> {
  const crmType = ctx.types[type]
  const byId = (direction: 'ASCENDING' | 'DESCENDING') =>
    ctx.crm.search(crmType, { sorts: [{ propertyName: OBJECT_ID, direction }], properties: [OBJECT_ID], limit: 1 })
  const first = await byId('ASCENDING')
  const total = first.total ?? first.results.length
  if (total < 2 * MIN_RANGE_ROWS || first.results.length === 0) return singlePlan(startedAt, total)
  const last = await byId('DESCENDING')
  const minId = first.results[0].id
  const maxId = last.results[0]?.id
  if (!maxId || !/^\d+$/.test(minId) || !/^\d+$/.test(maxId)) return singlePlan(startedAt, total)
  const probe = await ctx.crm.listPage(crmType, { after: maxId, limit: 1, properties: [OBJECT_ID] })
  if (probe.results[0]?.id !== maxId) {
    ctx.logger.info({ type }, 'list paging cursor is not the next id: one list stream')
    return singlePlan(startedAt, total)
  }
  return rangePlan(startedAt, total, BigInt(minId), BigInt(maxId))
}

async function fetchAll(
  ctx: BackfillContext,
  plans: Map<SyncType, BackfillPlan>,
  counter: { fetched: number },
  progress?: ProgressReporter,
): Promise<void> {
  const jobs: Job[] = []
  for (const [type, plan] of plans)
    for (const range of plan.ranges)
      if (!range.done) jobs.push({ type, plan, range, fetchNext: range.next, claimed: false, fetchDone: false })
  const total = [...plans.values()].reduce((sum, plan) => sum + plan.total, 0)
  const report = () =>
    progress?.update({
      phase: 'backfill',
      done: [...plans.values()].reduce((sum, plan) => sum + rowsDone(plan), 0),
      total,
    })
  report()

  const stop = new AbortController()
  const signal = AbortSignal.any([ctx.signal, stop.signal])
  const queue = new FetchQueue()
  const writer = writeAll(ctx, queue, counter, report).catch((error) => {
    stop.abort(error)
    queue.close()
    throw error
  })
  // Streams stay until every range is read: a range handed back (below) needs someone to take it.
  const worker = async (kind: 'list' | 'search') => {
    while (jobs.some((job) => !job.fetchDone)) {
      signal.throwIfAborted()
      const job = kind === 'list' && (await ctx.burstFull?.()) ? undefined : claim(jobs, kind)
      if (!job) await sleep(IDLE_MS)
      else if (kind === 'list') await listRange(ctx, job, queue, signal)
      else await searchRange(ctx, job, queue, signal)
    }
  }
  const workers = [
    ...Array.from({ length: ctx.listWorkers ?? 6 }, () => worker('list')),
    ...Array.from({ length: ctx.searchWorkers ?? 2 }, () => worker('search')),
  ].map((run) =>
    run.catch((error) => {
      stop.abort(error)
      throw error
    }),
  )
  const fetched = await Promise.allSettled(workers)
  // What was fetched is still written: it is progress a resume does not repeat.
  queue.close()
  await writer
  const failure = fetched.find((result): result is PromiseRejectedResult => result.status === 'rejected')
  if (failure) throw ctx.signal.aborted ? (ctx.signal.reason ?? failure.reason) : failure.reason
}

/**
 * List streams take ranges from the front, search streams from the back, so they meet in the
 * middle; a stream with nothing left to take splits the biggest range still being read, so that
 * the end of the backfill is not one slow stream reading alone.
 */
export function claim(jobs: Job[], kind: 'list' | 'search'): Job | undefined {
  const open = (job: Job) => !job.claimed && (kind === 'list' || job.plan.mode === 'ranges')
  const job = (kind === 'list' ? jobs.find(open) : jobs.findLast(open)) ?? split(jobs)
  if (job) job.claimed = true
  return job
}

/**
 * Halves what is left of the widest range in progress: its reader keeps [next, middle), the
 * caller gets [middle, to). The middle lies past everything the reader has fetched, and readers
 * drop what lies past their (live) `to`, so no object is read by both.
 */
function split(jobs: Job[]): Job | undefined {
  let widest: Job | undefined
  let widestSpan = 0n
  for (const job of jobs) {
    if (!job.claimed || job.fetchDone || job.plan.mode !== 'ranges' || job.fetchNext === null) continue
    const end = job.range.to !== null ? BigInt(job.range.to) : job.plan.max_id ? BigInt(job.plan.max_id) + 1n : null
    const span = end === null ? 0n : end - BigInt(job.fetchNext)
    if (span > widestSpan) [widest, widestSpan] = [job, span]
  }
  if (!widest || widestSpan < BigInt(Math.ceil(MIN_SPLIT_ROWS * (widest.plan.ids_per_object ?? 1)))) return undefined
  const middle = String(BigInt(widest.fetchNext!) + widestSpan / 2n)
  const range: RangeCheckpoint = { from: middle, to: widest.range.to, next: middle, done: false, rows: 0 }
  widest.range.to = middle
  widest.plan.ranges.push(range)
  const job: Job = { type: widest.type, plan: widest.plan, range, fetchNext: middle, claimed: false, fetchDone: false }
  jobs.push(job)
  return job
}

async function listRange(ctx: BackfillContext, job: Job, queue: FetchQueue, signal: AbortSignal): Promise<void> {
  const ranged = job.plan.mode === 'ranges'
  for (;;) {
    signal.throwIfAborted()
    const page = await ctx.crm
      .listPage(ctx.types[job.type], { after: job.fetchNext ?? undefined, properties: PROPERTIES[job.type] })
      .catch((error) => {
        // A HubSpot that refuses an id as `after` is one whose cursor is opaque after all.
        if (ranged && job.fetchNext !== null && error instanceof AppError && error.code === 'E_HUBSPOT_REJECTED')
          throw new AfterIsOpaque(error.message)
        throw error
      })
    let objects = page.results
    const after = page.paging?.next?.after ?? null
    let done = after === null
    // Read after the await: the range may have been split meanwhile.
    const to = job.range.to === null ? null : BigInt(job.range.to)
    if (ranged) {
      if (job.fetchNext !== null && objects.length && idNumber(objects[0].id) < BigInt(job.fetchNext))
        throw new AfterIsOpaque('a list page started before its after cursor')
      if (to !== null) objects = objects.filter((object) => idNumber(object.id) < to)
      // In ranges mode `after` is where a search stream would go on from: it must be an id.
      done ||= objects.length < page.results.length || (to !== null && idNumber(after!) >= to)
      if (!done) idNumber(after!)
    }
    job.fetchNext = done ? null : after
    job.fetchDone = done
    await queue.push({ job, objects, next: job.fetchNext, done }, signal)
    if (done) return
    // Waiting for the burst window while holding the range would idle it; a search stream may read it meanwhile.
    if (await ctx.burstFull?.()) {
      job.claimed = false
      return
    }
  }
}

async function searchRange(ctx: BackfillContext, job: Job, queue: FetchQueue, signal: AbortSignal): Promise<void> {
  for (;;) {
    signal.throwIfAborted()
    const filters: SearchFilter[] = []
    if (job.fetchNext !== null) filters.push({ propertyName: OBJECT_ID, operator: 'GTE', value: job.fetchNext })
    if (job.range.to !== null) filters.push({ propertyName: OBJECT_ID, operator: 'LT', value: job.range.to })
    const page = await ctx.crm.search(ctx.types[job.type], {
      filterGroups: filters.length ? [{ filters }] : undefined,
      sorts: [{ propertyName: OBJECT_ID, direction: 'ASCENDING' }],
      properties: PROPERTIES[job.type],
      limit: SEARCH_PAGE,
    })
    const to = job.range.to === null ? null : BigInt(job.range.to)
    const objects = to === null ? page.results : page.results.filter((object) => idNumber(object.id) < to)
    const done = objects.length < SEARCH_PAGE || !page.paging?.next
    job.fetchNext = done ? null : String(idNumber(objects[objects.length - 1].id) + 1n)
    job.fetchDone = done
    await queue.push({ job, objects, next: job.fetchNext, done }, signal)
    if (done) return
  }
}

/** One writer: batches of fetched pages, each committed with the checkpoint of the ranges it advances. */
async function writeAll(
  ctx: BackfillContext,
  queue: FetchQueue,
  counter: { fetched: number },
  report: () => void,
): Promise<void> {
  for (let items = await queue.take(MAX_BATCH_ROWS); items; items = await queue.take(MAX_BATCH_ROWS)) {
    const batch = items
    // rows is the one field a batch adds to rather than sets; a re-run transaction (deadlock retry)
    // adds from where the batch began. Only that field: a split may move a range's `to` meanwhile.
    const rowsBefore = new Map(batch.map(({ job }) => [job.range, job.range.rows]))
    await ctx.applier.batch(async (writer) => {
      for (const [range, rows] of rowsBefore) range.rows = rows
      for (const type of SYNC_TYPES)
        await writer.upsert(
          type,
          batch.filter((item) => item.job.type === type).flatMap((item) => item.objects),
        )
      const touched = new Map<SyncType, BackfillPlan>()
      for (const { job, objects, next, done } of batch) {
        job.range.next = next
        job.range.done = done
        job.range.rows += objects.length
        for (const object of objects) job.plan.max_seen_ms = Math.max(job.plan.max_seen_ms ?? 0, modifiedMs(object))
        touched.set(job.type, job.plan)
      }
      for (const [type, plan] of touched) await saveBackfillPlan(writer.tx, type, plan)
    })
    counter.fetched += batch.reduce((sum, item) => sum + item.objects.length, 0)
    report()
  }
}

/** A FIFO of fetched pages with back-pressure, so a slow database slows the fetchers instead of filling memory. */
class FetchQueue {
  #items: Fetched[] = []
  #rows = 0
  #closed = false
  #wakeWriter: (() => void) | null = null
  #wakeFetchers: Array<() => void> = []

  async push(item: Fetched, signal: AbortSignal): Promise<void> {
    while (this.#rows >= MAX_QUEUED_ROWS && !this.#closed) {
      signal.throwIfAborted()
      await new Promise<void>((resolve) => this.#wakeFetchers.push(resolve))
    }
    signal.throwIfAborted()
    if (this.#closed) throw new Error('the backfill writer stopped')
    this.#items.push(item)
    this.#rows += item.objects.length
    this.#wakeWriter?.()
  }

  /** The next batch (whole pages, up to maxRows unless one page is bigger); null once closed and drained. */
  async take(maxRows: number): Promise<Fetched[] | null> {
    while (this.#items.length === 0) {
      if (this.#closed) return null
      await new Promise<void>((resolve) => (this.#wakeWriter = resolve))
      this.#wakeWriter = null
    }
    const batch: Fetched[] = []
    let rows = 0
    while (this.#items.length && (batch.length === 0 || rows + this.#items[0].objects.length <= maxRows)) {
      const item = this.#items.shift()!
      rows += item.objects.length
      batch.push(item)
    }
    this.#rows -= rows
    for (const wake of this.#wakeFetchers.splice(0)) wake()
    return batch
  }

  close(): void {
    this.#closed = true
    this.#wakeWriter?.()
    for (const wake of this.#wakeFetchers.splice(0)) wake()
  }
}

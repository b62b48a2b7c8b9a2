// The backfill: lists whole object types in id ranges, in parallel, into batched replica writes that carry their own checkpoint.
import { setTimeout as sleep } from 'node:timers/promises'
import { AppError } from '../errors.js'
import {
  modifiedMs,
  SEARCH_FILTER_GROUPS_MAX,
  SEARCH_PAGE_MAX,
  type HeldSlot,
  type HubSpotObject,
  type SearchFilter,
} from '../hubspot/index.js'
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

/**
 * HubSpot documents `after` as the next record's id but says to treat it as opaque; ranges rely
 * on the former, so one probe checks it before planning on it. Small types are not worth it.
 */
async function planType(ctx: BackfillContext, type: SyncType, startedAt: number): Promise<Planned> {
  const crmType = ctx.types[type]
  // Whole pages, not one row: the first and the last objects are data as well as the bounds.
  const byId = (direction: 'ASCENDING' | 'DESCENDING') =>
    ctx.crm.search(crmType, {
      sorts: [{ propertyName: OBJECT_ID, direction }],
      properties: PROPERTIES[type],
      limit: SEARCH_PAGE,
    })
  const first = await byId('ASCENDING')
  const total = first.total ?? first.results.length
  const single = (): Planned => ({ plan: singlePlan(startedAt, total), first: first.results, below: null, last: [] })
  if (total < 2 * MIN_RANGE_ROWS || first.results.length === 0) return single()
  const minId = first.results[0].id
  const edge = first.results[first.results.length - 1].id
  if (!/^\d+$/.test(minId) || !/^\d+$/.test(edge)) return single()
  // The probe is a whole list page from the ascending page's last id: if it starts with that id,
  // `after` is the next record's id, and its objects carry the bottom range on.
  const [last, probe] = await Promise.all([
    byId('DESCENDING'),
    ctx.crm.listPage(crmType, { after: edge, properties: PROPERTIES[type] }),
  ])
  const maxId = last.results[0]?.id
  if (!maxId || !/^\d+$/.test(maxId)) return single()
  if (probe.results[0]?.id !== edge) {
    ctx.logger.info({ type }, 'list paging cursor is not the next id: one list stream')
    return single()
  }
  const lowest = [...first.results, ...probe.results.slice(1)]
  const below = probe.paging?.next ? idNumber(lowest[lowest.length - 1].id) + 1n : null
  const plan = rangePlan(startedAt, total, BigInt(minId), BigInt(maxId))
  return { plan, first: lowest, below, last: last.results }
}

/** A fresh plan and what planning read: the lowest objects by id and (ranges) the last page descending. */
interface Planned {
  plan: BackfillPlan
  /** Contiguous from the lowest id: every object below `below` (null: every object there is) is here. */
  first: HubSpotObject[]
  below: bigint | null
  last: HubSpotObject[]
}

/**
 * Turns what planning read into fetched pages of the ranges it covers wholly or from their start:
 * pages sorted by id hold every object between their first and last id. The range the descending
 * page ends in is split there, so that its upper part is done. Objects created after planning lie
 * above it, and the catch-up pull (from the backfill's start) finds them.
 */
function takePlanned(jobs: Job[], planned: Planned): Array<Omit<Fetched, 'job'> & { job: Job }> {
  const { plan, first, below, last } = planned
  const pages: Array<Omit<Fetched, 'job'> & { job: Job }> = []
  const own = jobs.filter((job) => job.plan === plan && !job.fetchDone)
  if (plan.mode === 'single') {
    const job = own[0]
    if (job && job.fetchNext === null && first.length >= plan.total) {
      pages.push({ job, objects: first, next: null, done: true })
      job.fetchDone = job.claimed = true
    }
    return pages
  }
  for (const job of own) {
    if (job.fetchNext !== job.range.from) continue
    const from = job.range.from === null ? null : BigInt(job.range.from)
    if (below !== null && from !== null && from >= below) break
    const to = job.range.to === null ? null : BigInt(job.range.to)
    const done = below === null || (to !== null && to <= below)
    const objects = first.filter(
      (o) => (from === null || idNumber(o.id) >= from) && (to === null || idNumber(o.id) < to),
    )
    const next = done ? null : String(below)
    pages.push({ job, objects, next, done })
    job.fetchNext = next
    job.fetchDone = done
    if (!done) break
  }
  // The descending page holds every object from its lowest id up: the ranges above that id are
  // done, and the one it falls in is split there, its upper part done too.
  if (last.length === SEARCH_PAGE) {
    const lowest = idNumber(last[last.length - 1].id)
    for (const job of own) {
      if (job.fetchDone || job.fetchNext !== job.range.from) continue
      const from = job.range.from === null ? null : BigInt(job.range.from)
      const to = job.range.to === null ? null : BigInt(job.range.to)
      if (to !== null && to <= lowest) continue
      const objects = last.filter(
        (o) => (to === null || idNumber(o.id) < to) && (from === null || idNumber(o.id) >= from),
      )
      if (from !== null && from >= lowest) {
        pages.push({ job, objects, next: null, done: true })
        job.fetchNext = null
        job.fetchDone = job.claimed = true
        continue
      }
      const range: RangeCheckpoint = {
        from: String(lowest),
        to: job.range.to,
        next: String(lowest),
        done: false,
        rows: 0,
      }
      job.range.to = range.from
      plan.ranges.push(range)
      const upper: Job = { type: job.type, plan, range, fetchNext: null, claimed: true, fetchDone: true }
      jobs.push(upper)
      pages.push({ job: upper, objects, next: null, done: true })
    }
  }
  return pages
}

async function fetchAll(
  ctx: BackfillContext,
  plans: Map<SyncType, BackfillPlan>,
  counter: { fetched: number },
  progress: ProgressReporter | undefined,
  planned: Map<SyncType, Planned>,
): Promise<void> {
  const jobs: Job[] = []
  for (const [type, plan] of plans)
    for (const range of plan.ranges)
      if (!range.done) jobs.push({ type, plan, range, fetchNext: range.next, claimed: false, fetchDone: false })
  const prefetched = [...planned.values()].flatMap((fresh) => takePlanned(jobs, fresh))
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
  // Awaited once the fetchers have stopped; until then a failure is handled by stopping them.
  writer.catch(() => undefined)
  for (const page of prefetched) await queue.push(page, signal)
  // One page per slot: a stream takes a slot of its bucket first and only then a range, so that no
  // range waits in the budget while the other bucket could read it, and every slot the budget
  // admits at once (a fresh burst window: all of it) is spent at once.
  // Either stream finishing a page may give the other something to do, or leave it nothing.
  let changed!: () => void
  let change = new Promise<void>((resolve) => (changed = resolve))
  const pageDone = () => {
    const wake = changed
    change = new Promise<void>((resolve) => (changed = resolve))
    wake()
  }
  const dispatch = async (kind: 'list' | 'search') => {
    const most = (kind === 'list' ? ctx.listWorkers : ctx.searchWorkers) ?? (ctx.slot ? MAX_IN_FLIGHT : 1)
    const running = new Set<Promise<void>>()
    const settle = () => Promise.race([change, sleep(IDLE_MS)])
    try {
      while (jobs.some((job) => !job.fetchDone)) {
        signal.throwIfAborted()
        if (running.size >= most || !claimable(jobs, kind)) {
          await settle()
          continue
        }
        // Waiting for a slot is given up once there is nothing left for this stream (the other read it).
        const wanted = new AbortController()
        let waiting = true
        void (async () => {
          while (waiting) {
            await settle()
            if (waiting && !claimable(jobs, kind)) wanted.abort()
          }
        })()
        let slot: HeldSlot
        try {
          slot = await takeSlot(ctx, kind === 'list' ? 'standard' : 'search', AbortSignal.any([signal, wanted.signal]))
        } catch (error) {
          if (wanted.signal.aborted && !signal.aborted) continue
          throw error
        } finally {
          waiting = false
        }
        const picked = kind === 'list' ? [claim(jobs, kind)].filter((job) => job !== undefined) : claimSearch(jobs)
        if (picked.length === 0) {
          slot.giveBack()
          await settle()
          continue
        }
        const page = slot
          .use(() =>
            kind === 'list' ? listPage(ctx, picked[0], queue, signal) : searchPage(ctx, picked, queue, signal),
          )
          .then(() => picked.forEach((job) => (job.claimed = job.fetchDone)))
        const tracked: Promise<void> = page.finally(() => {
          running.delete(tracked)
          pageDone()
        })
        // A failed page stops the backfill; the others still in flight settle below.
        tracked.catch((error) => stop.abort(error))
        running.add(tracked)
      }
    } finally {
      await Promise.allSettled(running)
    }
    signal.throwIfAborted()
  }
  const streams = [dispatch('list'), dispatch('search')].map((run) =>
    run.catch((error) => {
      stop.abort(error)
      throw error
    }),
  )
  const fetched = await Promise.allSettled(streams)
  // What was fetched is still written: it is progress a resume does not repeat.
  queue.close()
  await writer
  const failure = fetched.find((result): result is PromiseRejectedResult => result.status === 'rejected')
  if (failure) throw ctx.signal.aborted ? (ctx.signal.reason ?? failure.reason) : failure.reason
}

/** Pages in flight per bucket at most: the budget decides how many, this only bounds memory. */
const MAX_IN_FLIGHT = 256

const NO_BUDGET: HeldSlot = { kind: 'standard', use: (call) => call(), giveBack: () => undefined }
const takeSlot = (ctx: BackfillContext, kind: 'standard' | 'search', signal: AbortSignal): Promise<HeldSlot> =>
  ctx.slot ? ctx.slot(kind, signal) : Promise.resolve(NO_BUDGET)

/** Objects left to read in a range, as far as its ids say (Infinity when open below and unread). */
function objectsLeft(job: Job): number {
  if (job.plan.mode !== 'ranges') return Infinity
  const end = job.range.to !== null ? BigInt(job.range.to) : job.plan.max_id ? BigInt(job.plan.max_id) + 1n : null
  if (end === null || job.fetchNext === null) return Infinity
  return Number(end - BigInt(job.fetchNext)) / (job.plan.ids_per_object ?? 1)
}

const readable = (job: Job, kind: 'list' | 'search') =>
  !job.claimed && !job.fetchDone && (kind === 'list' || job.plan.mode === 'ranges')

/** Whether claim() would find something (without splitting): a slot is taken only then. */
function claimable(jobs: Job[], kind: 'list' | 'search'): boolean {
  return jobs.some((job) => readable(job, kind)) || splittable(jobs) !== undefined
}

/**
 * List streams take ranges from the front, search streams from the back, so they meet in the
 * middle; search prefers ranges with a whole page of its 200 left, since a list page of 100 fits
 * a remainder better. A stream with nothing left to take splits the biggest range still being
 * read, so that the end of the backfill is not one slow stream reading alone.
 */
export function claim(jobs: Job[], kind: 'list' | 'search'): Job | undefined {
  const open = (job: Job) => readable(job, kind)
  const job =
    (kind === 'list'
      ? jobs.find(open)
      : (jobs.findLast((job) => open(job) && objectsLeft(job) >= SEARCH_PAGE * 0.9) ?? jobs.findLast(open))) ??
    split(jobs)
  if (job) job.claimed = true
  return job
}

/** Id spans one search reads at most: one filter group (two filters) each, ORed. */
const SEARCH_SPANS = SEARCH_FILTER_GROUPS_MAX

/**
 * The ranges one search reads: claim()'s, then more from the back while their ids say the page of
 * 200 is not yet full. The page holds the lowest ids of them all, so only the highest may be cut,
 * and what is cut off stays claimable: no search page ends half empty while ranges are left, and
 * the remainders list pages leave are read a few at a time.
 */
export function claimSearch(jobs: Job[]): Job[] {
  const first = claim(jobs, 'search')
  if (!first) return []
  const picked = [first]
  let rows = objectsLeft(first)
  const bounded = (job: Job) => Number.isFinite(objectsLeft(job)) && spanOf(job).length > 0
  if (!bounded(first)) return picked
  while (rows < SEARCH_PAGE && picked.length < SEARCH_SPANS) {
    const more = jobs.findLast((job) => readable(job, 'search') && job.plan === first.plan && bounded(job))
    if (!more) break
    more.claimed = true
    picked.push(more)
    rows += objectsLeft(more)
  }
  return picked
}

/** The filters of what is left of a range: [fetchNext, to). */
function spanOf(job: Job): SearchFilter[] {
  const filters: SearchFilter[] = []
  if (job.fetchNext !== null) filters.push({ propertyName: OBJECT_ID, operator: 'GTE', value: job.fetchNext })
  if (job.range.to !== null) filters.push({ propertyName: OBJECT_ID, operator: 'LT', value: job.range.to })
  return filters
}

function splittable(jobs: Job[]): { job: Job; span: bigint } | undefined {
  let widest: Job | undefined
  let widestSpan = 0n
  for (const job of jobs) {
    if (!job.claimed || job.fetchDone || job.plan.mode !== 'ranges' || job.fetchNext === null) continue
    const end = job.range.to !== null ? BigInt(job.range.to) : job.plan.max_id ? BigInt(job.plan.max_id) + 1n : null
    const span = end === null ? 0n : end - BigInt(job.fetchNext)
    if (span > widestSpan) [widest, widestSpan] = [job, span]
  }
  if (!widest || widestSpan < BigInt(Math.ceil(MIN_SPLIT_ROWS * (widest.plan.ids_per_object ?? 1)))) return undefined
  return { job: widest, span: widestSpan }
}

/**
 * Halves what is left of the widest range in progress: its reader keeps [next, middle), the
 * caller gets [middle, to). The middle lies past everything the reader has fetched, and readers
 * drop what lies past their (live) `to`, so no object is read by both.
 */
function split(jobs: Job[]): Job | undefined {
  const found = splittable(jobs)
  if (!found) return undefined
  const { job: widest, span: widestSpan } = found
  const middle = String(BigInt(widest.fetchNext!) + widestSpan / 2n)
  const range: RangeCheckpoint = { from: middle, to: widest.range.to, next: middle, done: false, rows: 0 }
  widest.range.to = middle
  widest.plan.ranges.push(range)
  const job: Job = { type: widest.type, plan: widest.plan, range, fetchNext: middle, claimed: false, fetchDone: false }
  jobs.push(job)
  return job
}

/** One list page of the range, from where its reader is. */
async function listPage(ctx: BackfillContext, job: Job, queue: FetchQueue, signal: AbortSignal): Promise<void> {
  const ranged = job.plan.mode === 'ranges'
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
}

/**
 * One search page of the ranges, each from where its reader is, their spans ORed and sorted by id:
 * the page holds every matching object up to its last id, so a range ending at or below that id is
 * done and one reaching past it goes on after it.
 */
async function searchPage(ctx: BackfillContext, jobs: Job[], queue: FetchQueue, signal: AbortSignal): Promise<void> {
  signal.throwIfAborted()
  const spans = jobs.map(spanOf)
  const page = await ctx.crm.search(ctx.types[jobs[0].type], {
    filterGroups: spans.some((filters) => filters.length) ? spans.map((filters) => ({ filters })) : undefined,
    sorts: [{ propertyName: OBJECT_ID, direction: 'ASCENDING' }],
    properties: PROPERTIES[jobs[0].type],
    limit: SEARCH_PAGE,
  })
  const complete = page.results.length < SEARCH_PAGE || !page.paging?.next
  const reached = complete ? null : idNumber(page.results[page.results.length - 1].id)
  for (const job of jobs) {
    // Read after the await: the range may have been split meanwhile.
    const from = job.fetchNext === null ? null : BigInt(job.fetchNext)
    const to = job.range.to === null ? null : BigInt(job.range.to)
    if (reached !== null && from !== null && from > reached) continue
    const objects = page.results.filter((object) => {
      const id = idNumber(object.id)
      return (from === null || id >= from) && (to === null || id < to)
    })
    const done = reached === null || (to !== null && to <= reached + 1n)
    job.fetchNext = done ? null : String(reached + 1n)
    job.fetchDone = done
    await queue.push({ job, objects, next: job.fetchNext, done }, signal)
  }
}

/**
 * Transactions in flight at once. Two: one's inserts overlap the other's change-log append and
 * commit (the append lock serialises those), which keeps the last burst of list pages from
 * waiting on one connection while the other core idles.
 */
const WRITERS = 2

/**
 * The writers: batches of fetched pages, each committed with the checkpoint of the ranges it
 * advances. The plan in memory holds only what has committed: a transaction saves a copy of it
 * with its own batch applied (a re-run transaction builds the copy again), and the plan takes the
 * batch in after COMMIT. Two batches never hold pages of one range, so a checkpoint never runs
 * ahead of the rows behind it; one saved while another batch is in flight may lag that batch, and
 * the next checkpoint catches up.
 */
async function writeAll(
  ctx: BackfillContext,
  queue: FetchQueue,
  counter: { fetched: number },
  report: () => void,
): Promise<void> {
  const writing = new Set<RangeCheckpoint>()
  let failed = false
  const writer = async () => {
    for (;;) {
      const batch = await queue.take(MAX_BATCH_ROWS, (item) => !writing.has(item.job.range))
      if (!batch || failed) return
      for (const { job } of batch) writing.add(job.range)
      try {
        await ctx.applier.batch(async (writer) => {
          for (const type of SYNC_TYPES)
            await writer.upsert(
              type,
              batch.filter((item) => item.job.type === type).flatMap((item) => item.objects),
            )
          for (const type of SYNC_TYPES) {
            const plan = batch.find((item) => item.job.type === type)?.job.plan
            if (plan) await saveBackfillPlan(writer.tx, type, withBatch(plan, batch))
          }
        })
        for (const item of batch) advance(item.job.plan, item.job.range, item)
      } catch (error) {
        failed = true
        throw error
      } finally {
        for (const { job } of batch) writing.delete(job.range)
        queue.wakeWriters()
      }
      counter.fetched += batch.reduce((sum, item) => sum + item.objects.length, 0)
      report()
    }
  }
  const settled = await Promise.allSettled(Array.from({ length: WRITERS }, writer))
  const failure = settled.find((result): result is PromiseRejectedResult => result.status === 'rejected')
  if (failure) throw failure.reason
}

/** The plan as it stands once the batch commits: a copy, the plan itself left as committed. */
function withBatch(plan: BackfillPlan, batch: Fetched[]): BackfillPlan {
  const copy: BackfillPlan = { ...plan, ranges: plan.ranges.map((range) => ({ ...range })) }
  const copyOf = new Map(plan.ranges.map((range, i) => [range, copy.ranges[i]]))
  for (const item of batch) if (item.job.plan === plan) advance(copy, copyOf.get(item.job.range)!, item)
  return copy
}

function advance(plan: BackfillPlan, range: RangeCheckpoint, { objects, next, done }: Fetched): void {
  range.next = next
  range.done = done
  range.rows += objects.length
  for (const object of objects) plan.max_seen_ms = Math.max(plan.max_seen_ms ?? 0, modifiedMs(object))
}

/** A FIFO of fetched pages with back-pressure, so a slow database slows the fetchers instead of filling memory. */
class FetchQueue {
  #items: Fetched[] = []
  #rows = 0
  #closed = false
  #wakeWriters: Array<() => void> = []
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
    this.wakeWriters()
  }

  /**
   * The next batch: whole pages, up to maxRows unless one page is bigger, of pages `takeable`
   * allows, in order within each range (past one page of a range left behind, the rest of that
   * range waits too). Null once closed and drained.
   */
  async take(maxRows: number, takeable: (item: Fetched) => boolean): Promise<Fetched[] | null> {
    for (;;) {
      const batch: Fetched[] = []
      const left = new Set<RangeCheckpoint>()
      let rows = 0
      for (let i = 0; i < this.#items.length && rows < maxRows;) {
        const item = this.#items[i]
        const fits = batch.length === 0 || rows + item.objects.length <= maxRows
        if (left.has(item.job.range) || !fits || !takeable(item)) {
          left.add(item.job.range)
          i += 1
          continue
        }
        this.#items.splice(i, 1)
        batch.push(item)
        rows += item.objects.length
      }
      if (batch.length) {
        this.#rows -= rows
        for (const wake of this.#wakeFetchers.splice(0)) wake()
        return batch
      }
      if (this.#closed && this.#items.length === 0) return null
      await new Promise<void>((resolve) => this.#wakeWriters.push(resolve))
    }
  }

  /** Something to take may have come in, or a range other writers held is free again. */
  wakeWriters(): void {
    for (const wake of this.#wakeWriters.splice(0)) wake()
  }

  close(): void {
    this.#closed = true
    this.wakeWriters()
    for (const wake of this.#wakeFetchers.splice(0)) wake()
  }
}

// The backfill's readers: planning an object type (the probe of `after`), and the list and search pages of id ranges.
import { AppError } from '../errors.js'
import { SEARCH_PAGE_MAX, type HubSpotObject } from '../hubspot/index.js'
import { PROPERTIES } from './apply.js'
import type { BackfillContext } from './backfill.js'
import { spanOf, type Job } from './backfill-claims.js'
import { MIN_RANGE_ROWS, rangePlan, singlePlan, type BackfillPlan, type RangeCheckpoint } from './backfill-plan.js'
import type { Fetched, FetchQueue } from './backfill-writer.js'
import { OBJECT_ID } from './window-scan.js'
import type { SyncType } from './types.js'

const SEARCH_PAGE = SEARCH_PAGE_MAX

/** The list's `after` turned out not to be an id: fall back to one opaque stream. */
export class AfterIsOpaque extends Error {}

const idNumber = (id: string): bigint => {
  if (!/^\d+$/.test(id)) throw new AfterIsOpaque(`id ${id} is not numeric`)
  return BigInt(id)
}

/**
 * HubSpot documents `after` as the next record's id but says to treat it as opaque; ranges rely
 * on the former, so one probe checks it before planning on it. Small types are not worth it.
 */
export async function planType(ctx: BackfillContext, type: SyncType, startedAt: number): Promise<Planned> {
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
export interface Planned {
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
export function takePlanned(jobs: Job[], planned: Planned): Array<Omit<Fetched, 'job'> & { job: Job }> {
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

/** One list page of the range, from where its reader is. */
export async function listPage(ctx: BackfillContext, job: Job, queue: FetchQueue, signal: AbortSignal): Promise<void> {
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
export async function searchPage(
  ctx: BackfillContext,
  jobs: Job[],
  queue: FetchQueue,
  signal: AbortSignal,
): Promise<void> {
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

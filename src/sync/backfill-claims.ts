// The claim and split policy of the backfill: which id range a list or search stream reads next, and when a range is halved.
import { SEARCH_FILTER_GROUPS_MAX, SEARCH_PAGE_MAX, type SearchFilter } from '../hubspot/index.js'
import { MIN_SPLIT_ROWS, type BackfillPlan, type RangeCheckpoint } from './backfill-plan.js'
import { OBJECT_ID } from './window-scan.js'
import type { SyncType } from './types.js'

const SEARCH_PAGE = SEARCH_PAGE_MAX

/** One range being read: the checkpoint it commits to, and where its reader has got to in memory. */
export interface Job {
  type: SyncType
  plan: BackfillPlan
  range: RangeCheckpoint
  /** Where the fetcher is; range.next is where the committed rows are. */
  fetchNext: string | null
  claimed: boolean
  fetchDone: boolean
}

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
export function claimable(jobs: Job[], kind: 'list' | 'search'): boolean {
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
export function spanOf(job: Job): SearchFilter[] {
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

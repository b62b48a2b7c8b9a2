// The backfill's checkpoint: how an object type is split into id ranges, and how far each range has been written.

/**
 * One id range [from, to). `next` is the first id still to read (null: from the start), and
 * moves only when the rows before it are committed, in the same transaction as those rows.
 */
export interface RangeCheckpoint {
  from: string | null
  to: string | null
  next: string | null
  done: boolean
  rows: number
}

export interface BackfillPlan {
  version: 1
  /** When the first run of this backfill started: the cursor it earns is based on this, even after resumes. */
  started_at_ms: number
  /**
   * ranges: ids are numbers and the list's `after` is the next record's id, so ranges are read in
   * parallel, by list pages and by id-keyed searches alike. single: one list stream, `after` opaque.
   */
  mode: 'ranges' | 'single'
  /** How many objects search counted when planning (for progress). */
  total: number
  /** The highest id when planned (ranges mode): the far end of the open last range, for splitting it. */
  max_id?: string | null
  /** How sparse ids are (ranges mode): how wide a span holds a given number of objects. */
  ids_per_object?: number
  max_seen_ms: number | null
  ranges: RangeCheckpoint[]
  done: boolean
}

/** Fewer objects than twice this: one list stream (ranges are not worth their planning calls). */
export const MIN_RANGE_ROWS = 1000
export const MAX_RANGES = 512
/** A range's objects: whole search pages of 200 (each two list pages), a few short so that a range is never one over. */
const PAGE_ROWS = 200
const SHORT_BY = 2

/**
 * Objects per range: one search page while that gives no more than MAX_RANGES, else whole pages
 * more. Small ranges let every slot of a fresh burst window read its own range at once, and a
 * range that fits its pages leaves no half-empty page at its end.
 */
export function rangeRows(total: number): number {
  return Math.ceil(total / MAX_RANGES / PAGE_ROWS) * PAGE_ROWS - SHORT_BY
}

export function singlePlan(startedAtMs: number, total: number): BackfillPlan {
  return {
    version: 1,
    started_at_ms: startedAtMs,
    mode: 'single',
    total,
    max_seen_ms: null,
    ranges: [{ from: null, to: null, next: null, done: false, rows: 0 }],
    done: false,
  }
}

/**
 * Splits [minId, maxId] into equal-width ranges of about `rows` objects each (as far as the ids'
 * spacing says); the first is open below and the last open above, so objects created meanwhile
 * are still covered.
 */
export function rangePlan(
  startedAtMs: number,
  total: number,
  minId: bigint,
  maxId: bigint,
  rows = rangeRows(total),
): BackfillPlan {
  const span = maxId - minId + 1n
  const idsPerObject = Math.max(1, Number(span) / Math.max(1, total))
  const count = BigInt(Math.min(MAX_RANGES, Math.max(2, Math.ceil(total / rows))))
  const bounds: bigint[] = []
  // Each bound from the whole span, so that rounding does not pile up in the last range.
  for (let i = 1n; i < count; i++) {
    const bound = minId + (span * i) / count
    if (bound > (bounds.at(-1) ?? minId) && bound <= maxId) bounds.push(bound)
  }
  const edges: Array<string | null> = [null, ...bounds.map(String), null]
  const ranges: RangeCheckpoint[] = []
  for (let i = 0; i + 1 < edges.length; i++)
    ranges.push({ from: edges[i], to: edges[i + 1], next: edges[i], done: false, rows: 0 })
  return {
    version: 1,
    started_at_ms: startedAtMs,
    mode: 'ranges',
    total,
    max_id: String(maxId),
    ids_per_object: idsPerObject,
    max_seen_ms: null,
    ranges,
    done: false,
  }
}

export const rowsDone = (plan: BackfillPlan): number => plan.ranges.reduce((sum, range) => sum + range.rows, 0)

/** The cursor a finished backfill earns: min(start, newest seen), as for any pull. */
export function backfillCursor(plan: BackfillPlan): number {
  return plan.max_seen_ms === null ? plan.started_at_ms : Math.min(plan.started_at_ms, plan.max_seen_ms)
}

/** Fewer rows than this left in a range are not worth splitting off. */
export const MIN_SPLIT_ROWS = 400

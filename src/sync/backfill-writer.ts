// The backfill's writer: a bounded queue of fetched pages, committed in batches that carry their own checkpoint.
import { modifiedMs, type HubSpotObject } from '../hubspot/index.js'
import { saveBackfillPlan } from '../replica/index.js'
import type { BackfillContext } from './backfill.js'
import type { Job } from './backfill-claims.js'
import type { BackfillPlan, RangeCheckpoint } from './backfill-plan.js'
import { SYNC_TYPES } from './types.js'

/** Rows per replica transaction: big enough to amortise the commit, small enough to checkpoint often. */
const MAX_BATCH_ROWS = 1000
/** Fetchers wait when this many rows are fetched but not yet written. */
const MAX_QUEUED_ROWS = 4000

/** A fetched page of one range: its objects, and where the range goes on from (done: nowhere). */
export interface Fetched {
  job: Job
  objects: HubSpotObject[]
  next: string | null
  done: boolean
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
export async function writeAll(
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
export class FetchQueue {
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

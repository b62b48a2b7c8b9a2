// The backfill's scheduler: one list stream and one search stream, each taking a slot of its rate bucket and then a range.
import { setTimeout as sleep } from 'node:timers/promises'
import type { HeldSlot } from '../hubspot/index.js'
import type { BackfillContext } from './backfill.js'
import { claim, claimable, claimSearch, type Job } from './backfill-claims.js'
import { listPage, searchPage, takePlanned, type Planned } from './backfill-fetch.js'
import { rowsDone, type BackfillPlan } from './backfill-plan.js'
import { FetchQueue, writeAll } from './backfill-writer.js'
import type { ProgressReporter, SyncType } from './types.js'

/** How long a stream with nothing to do waits before looking again. */
const IDLE_MS = 100

/**
 * Reads every range not yet done and hands the pages to the writer. Each stream ('list' and
 * 'search') runs this loop, one page per slot of its rate bucket:
 *
 * ```
 *            ┌──────────── nothing claimable / at `most` in flight ────────────┐
 *            ▼                                                                 │
 *   Idle ─claimable─► WaitingForSlot ─slot─► Claiming ─range(s)─► Reading ─page pushed─► Idle
 *     │                    │                     │                     │
 *     │            other stream took it    nothing left:               └─failed─► stop all (abort)
 *     │            (wanted aborted) ──► Idle  give slot back ──► Idle
 *     └─ every job fetchDone ─► Drained ─► queue closed ─► writer finishes ─► done
 * ```
 *
 * A slot is taken before a range so that no range sits claimed while its stream waits in the
 * budget; a failure anywhere aborts both streams, and what was fetched is still written.
 */
export async function fetchAll(
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

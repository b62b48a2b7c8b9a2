// Priorities over the HubSpot rate budget: writes first, then on-demand pulls, background pulls, backfill and reconcile.
//
//   caller ──withPriority(p, fn)──► every HubSpot call inside fn waits in queue p
//
//   per call kind (standard, search) one pump:
//     waiting? ─► highest queue's head p ─► inner budget acquire for p (rolling window, shared through
//                 ▲                          Redis; headroom: lower priorities leave the last slots of
//                 │                          the window to the ones above them, checked as it takes)
//                 │ a more urgent caller arrives         │ slot
//                 └──── while p waits: p's wait is ◄─────┤
//                       given up, the head asked again   ▼
//                                          the slot goes to the highest waiter *now*
import { AsyncLocalStorage } from 'node:async_hooks'
import type { CallKind, RateBudget, Release } from './budget.js'

export const PRIORITIES = ['write', 'demand', 'background', 'bulk'] as const
/**
 * - write: the write path (and resolving its unfinished intents)
 * - demand: a person asked (Refresh, force sync, `sync_request`)
 * - background: on-access and while-watched pulls
 * - bulk: backfill and reconcile
 */
export type Priority = (typeof PRIORITIES)[number]

/**
 * The share of the 10 s window a priority leaves to those above it (at least one slot): small, since
 * the backfill at the two-bucket ceiling spends a fresh window at once and every slot held back is
 * 100 rows a window fewer; writes still find the slot left and go first in the queue. The budget
 * applies it to the burst window only: the search bucket (4 a second) is too small to split, so
 * there priorities only decide the order.
 */
const HEADROOM: Record<Priority, number> = { write: 0, demand: 0.01, background: 0.02, bulk: 0.02 }

const context = new AsyncLocalStorage<Priority>()

/** Runs fn with its HubSpot calls at this priority; calls outside any are writes. */
export function withPriority<T>(priority: Priority, fn: () => Promise<T>): Promise<T> {
  return context.run(priority, fn)
}

export function currentPriority(): Priority {
  return context.getStore() ?? 'write'
}

export interface PriorityStats {
  waiting: Record<Priority, number>
  granted: Record<Priority, number>
  /** Total time waited for a slot, per priority (ms). */
  waitedMs: Record<Priority, number>
  /** Times a waiter's wait in the budget was set aside for a more urgent caller that arrived. */
  heldBack: Record<Priority, number>
}

interface Waiter {
  priority: Priority
  since: number
  resolve(release: Release): void
  reject(error: unknown): void
}

const perPriority = (): Record<Priority, number> => ({ write: 0, demand: 0, background: 0, bulk: 0 })
const outranks = (a: Priority, b: Priority) => PRIORITIES.indexOf(a) < PRIORITIES.indexOf(b)

export interface PrioritizedBudget extends RateBudget {
  priorityStats(): PriorityStats
}

export function prioritized(inner: RateBudget): PrioritizedBudget {
  const queues: Record<CallKind, Record<Priority, Waiter[]>> = {
    standard: { write: [], demand: [], background: [], bulk: [] },
    search: { write: [], demand: [], background: [], bulk: [] },
  }
  const pumping: Record<CallKind, boolean> = { standard: false, search: false }
  // The pump's own wait in the budget below, for a waiter of `priority`: given up when every waiter
  // of its kind has given up, or when a more urgent one arrives (it may find room in the headroom
  // that held the wait back).
  const pumpWait: Record<CallKind, { priority: Priority; controller: AbortController } | null> = {
    standard: null,
    search: null,
  }
  const stats = { granted: perPriority(), waitedMs: perPriority(), heldBack: perPriority() }

  const head = (kind: CallKind): Waiter | undefined => {
    for (const priority of PRIORITIES) if (queues[kind][priority].length) return queues[kind][priority][0]
    return undefined
  }
  const take = (kind: CallKind): Waiter | undefined => {
    for (const priority of PRIORITIES) if (queues[kind][priority].length) return queues[kind][priority].shift()
    return undefined
  }
  const pump = async (kind: CallKind): Promise<void> => {
    if (pumping[kind]) return
    pumping[kind] = true
    try {
      for (let next = head(kind); next; next = head(kind)) {
        let release: Release
        const wait = new AbortController()
        pumpWait[kind] = { priority: next.priority, controller: wait }
        try {
          release = await inner.acquire(kind, wait.signal, HEADROOM[next.priority])
        } catch (error) {
          if (wait.signal.aborted) continue
          // The daily limit: every waiter of this kind gets the same answer.
          for (let waiter = take(kind); waiter; waiter = take(kind)) waiter.reject(error)
          continue
        } finally {
          pumpWait[kind] = null
        }
        const waiter = take(kind)
        if (!waiter) {
          release(true)
          continue
        }
        stats.granted[waiter.priority] += 1
        stats.waitedMs[waiter.priority] += Date.now() - waiter.since
        waiter.resolve(release)
      }
    } finally {
      pumping[kind] = false
    }
  }

  return {
    acquire(kind, signal) {
      const priority = currentPriority()
      return new Promise<Release>((resolve, reject) => {
        signal?.throwIfAborted()
        const waiter: Waiter = { priority, since: Date.now(), resolve, reject }
        queues[kind][priority].push(waiter)
        const pending = pumpWait[kind]
        if (pending && outranks(priority, pending.priority)) {
          stats.heldBack[pending.priority] += 1
          pending.controller.abort()
        }
        signal?.addEventListener(
          'abort',
          () => {
            const queue = queues[kind][priority]
            const at = queue.indexOf(waiter)
            if (at < 0) return
            queue.splice(at, 1)
            reject(signal.reason)
            if (!head(kind)) pumpWait[kind]?.controller.abort()
          },
          { once: true },
        )
        void pump(kind)
      })
    },
    usage: () => inner.usage(),
    observe: (headers) => inner.observe(headers),
    burstLimits: () => inner.burstLimits(),
    close: () => inner.close(),
    priorityStats() {
      const waiting = perPriority()
      for (const kind of ['standard', 'search'] as const)
        for (const priority of PRIORITIES) waiting[priority] += queues[kind][priority].length
      return {
        waiting,
        granted: { ...stats.granted },
        waitedMs: { ...stats.waitedMs },
        heldBack: { ...stats.heldBack },
      }
    },
  }
}

// The HubSpot rate budget: rolling 10-second burst, per-second search and daily limits, kept before sending.
import { setTimeout as sleep } from 'node:timers/promises'
import { BURST_WINDOW_MS, SEARCH_WINDOW_MS } from './limits.js'

export type CallKind = 'standard' | 'search'

export interface BudgetLimits {
  /** Requests per rolling 10 s (HubSpot's burst limit). */
  burstPer10s: number
  searchPerSecond: number
  daily: number
}

export interface BudgetUsage {
  limit_10s: number
  used_10s: number
  search_limit_s: number
  used_search_1s: number
  daily_limit: number
  used_daily: number
}

/** Called when the response has arrived (or the request failed). */
export type Release = () => void

/**
 * Takes one request's worth of budget, waiting as long as needed. Shared budgets (Redis) keep N
 * instances inside one account's limits together.
 *
 * HubSpot counts a request when it *arrives*; we cannot know that moment, but it lies between our
 * send and our receipt of the answer. So a request occupies a slot from acquire until release and
 * then stays in the window counted from its release: our window always covers HubSpot's.
 */
export interface RateBudget {
  acquire(kind: CallKind): Promise<Release>
  usage(): Promise<BudgetUsage>
  close(): Promise<void>
}

export class DailyLimitExhausted extends Error {
  constructor() {
    super('the HubSpot daily request limit is used up')
  }
}

/** One slot of headroom for requests another tool of the account may send meanwhile. */
export function effectiveLimit(limit: number): number {
  return limit <= 2 ? limit : limit - 1
}

/** How long to wait, when every slot is held by a request still in flight, before asking again. */
const IN_FLIGHT_POLL_MS = 25

/** One sliding window: requests in flight, and the completion times of those still inside it. */
class SlidingWindow {
  readonly #completed: number[] = []
  #inFlight = 0
  constructor(
    readonly windowMs: number,
    readonly limit: number,
  ) {}

  /** 0 when a slot was taken, else how long to wait before asking again. */
  tryTake(now: number): number {
    while (this.#completed.length && this.#completed[0] <= now - this.windowMs) this.#completed.shift()
    if (this.#completed.length + this.#inFlight < this.limit) {
      this.#inFlight += 1
      return 0
    }
    return this.#completed.length ? Math.max(1, this.#completed[0] + this.windowMs - now) : IN_FLIGHT_POLL_MS
  }

  release(now: number): void {
    this.#inFlight -= 1
    this.#completed.push(now)
  }

  used(now: number): number {
    return this.#completed.filter((t) => t > now - this.windowMs).length + this.#inFlight
  }
}

export function createLocalBudget(limits: BudgetLimits): RateBudget {
  const burst = new SlidingWindow(BURST_WINDOW_MS, effectiveLimit(limits.burstPer10s))
  const search = new SlidingWindow(
    SEARCH_WINDOW_MS,
    limits.searchPerSecond > 2 ? limits.searchPerSecond - 1 : limits.searchPerSecond,
  )
  let day = new Date().toISOString().slice(0, 10)
  let usedToday = 0

  return {
    async acquire(kind) {
      for (;;) {
        const today = new Date().toISOString().slice(0, 10)
        if (today !== day) [day, usedToday] = [today, 0]
        if (usedToday >= limits.daily) throw new DailyLimitExhausted()
        // Search has its own bucket and is exempt from the burst window (HubSpot's spec marks it so).
        const window = kind === 'search' ? search : burst
        const wait = window.tryTake(Date.now())
        if (wait === 0) {
          usedToday += 1
          let released = false
          return () => {
            if (!released) window.release(Date.now())
            released = true
          }
        }
        await sleep(wait)
      }
    },
    async usage() {
      const now = Date.now()
      return {
        limit_10s: limits.burstPer10s,
        used_10s: burst.used(now),
        search_limit_s: limits.searchPerSecond,
        used_search_1s: search.used(now),
        daily_limit: limits.daily,
        used_daily: usedToday,
      }
    },
    async close() {},
  }
}

// The HubSpot rate budget: rolling 10-second burst, per-second search and daily limits, kept before sending.

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

/**
 * Takes one request's worth of budget, waiting as long as needed. Shared budgets (Redis) keep N
 * instances inside one account's limits together.
 */
export interface RateBudget {
  acquire(kind: CallKind): Promise<void>
  usage(): Promise<BudgetUsage>
  close(): Promise<void>
}

export class DailyLimitExhausted extends Error {
  constructor() {
    super('the HubSpot daily request limit is used up')
  }
}

/**
 * HubSpot counts a request when it arrives, we count it when we send it; keeping a little under
 * the limit absorbs the difference in latency between two requests instead of earning a 429.
 */
export function effectiveLimit(limit: number): number {
  return limit <= 2 ? limit : Math.max(1, Math.floor(limit * 0.97))
}

const BURST_WINDOW_MS = 10_000
const SEARCH_WINDOW_MS = 1_000

/** One sliding window: the send times of the requests still inside it. */
class SlidingWindow {
  readonly #times: number[] = []
  constructor(readonly windowMs: number, readonly limit: number) {}

  /** 0 when a slot was taken, else how long to wait before asking again. */
  tryTake(now: number): number {
    while (this.#times.length && this.#times[0] <= now - this.windowMs) this.#times.shift()
    if (this.#times.length < this.limit) {
      this.#times.push(now)
      return 0
    }
    return Math.max(1, this.#times[0] + this.windowMs - now)
  }

  used(now: number): number {
    return this.#times.filter((t) => t > now - this.windowMs).length
  }
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

export function createLocalBudget(limits: BudgetLimits): RateBudget {
  const burst = new SlidingWindow(BURST_WINDOW_MS, effectiveLimit(limits.burstPer10s))
  const search = new SlidingWindow(SEARCH_WINDOW_MS, limits.searchPerSecond > 2 ? limits.searchPerSecond - 1 : limits.searchPerSecond)
  let day = new Date().toISOString().slice(0, 10)
  let usedToday = 0

  return {
    async acquire(kind) {
      for (;;) {
        const today = new Date().toISOString().slice(0, 10)
        if (today !== day) [day, usedToday] = [today, 0]
        if (usedToday >= limits.daily) throw new DailyLimitExhausted()
        // Search has its own bucket and is exempt from the burst window (HubSpot's spec marks it so).
        const wait = (kind === 'search' ? search : burst).tryTake(Date.now())
        if (wait === 0) {
          usedToday += 1
          return
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

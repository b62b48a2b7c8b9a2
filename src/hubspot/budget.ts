// The HubSpot rate budget: rolling burst window, per-second search and daily limits, kept before sending.
import { setTimeout as sleep } from 'node:timers/promises'
import { createLocalLimits, type BurstLimits, type LimitSource, type RateLimitHeaders } from './learned-limits.js'
import { SEARCH_WINDOW_MS } from './limits.js'

export type CallKind = 'standard' | 'search'

export interface BudgetLimits {
  /** Requests per rolling 10 s (HubSpot's burst limit): a first guess until HubSpot's headers say. */
  burstPer10s: number
  searchPerSecond: number
  daily: number
}

export interface BudgetUsage {
  /** HubSpot's burst limit as learned from its headers (the configured guess until then). */
  limit_10s: number
  /** Burst requests the budget admits per window now: the limit, or one while probing. */
  admit_10s: number
  /** Where limit_10s comes from. */
  limit_state: BurstLimits['state']
  burst_window_ms: number
  used_10s: number
  search_limit_s: number
  used_search_1s: number
  daily_limit: number
  used_daily: number
}

/**
 * Called when the response has arrived (or the request failed); `unused` when the slot was never
 * sent (a caller that took one ahead and then had nothing to send): it is given back uncounted.
 */
export type Release = (unused?: boolean) => void

/**
 * Takes one request's worth of budget, waiting as long as needed. Shared budgets (Redis) keep N
 * instances inside one account's limits together.
 *
 * HubSpot counts a request when it *arrives*; we cannot know that moment, but it lies between our
 * send and our receipt of the answer's headers. So a request occupies a slot from acquire until
 * release (the client releases on those headers) and then stays in the window counted from its
 * release: our window always covers HubSpot's.
 */
export interface RateBudget {
  /**
   * `signal`: the caller stops waiting (it found nothing left to send); the wait rejects with its reason.
   * `headroom`: the share of the burst window (at least one slot, when above 0) this call leaves to
   * others: lower priorities leave the last slots to higher ones (priority.ts). It is checked in the
   * same step as the take, so that concurrent takers (or instances) cannot both pass it, and a slot
   * costs one round trip to Redis, not a look-up and then a take.
   */
  acquire(kind: CallKind, signal?: AbortSignal, headroom?: number): Promise<Release>
  /** Hears each non-search answer's rate-limit headers (null: it had none), so the limits follow HubSpot's. */
  observe(headers: RateLimitHeaders | null): void
  /** The burst limit and window kept to now: learned, or the configured guess. */
  burstLimits(): BurstLimits
  usage(): Promise<BudgetUsage>
  close(): Promise<void>
}

export class DailyLimitExhausted extends Error {
  constructor() {
    super('the HubSpot daily request limit is used up')
  }
}

/**
 * All of the configured search rate: a search holds its slot from send to answer and counts for a
 * second after, so HubSpot (counting arrivals) never sees more of ours in a second. Search is per
 * account and has no headers to learn from, so a user who shares the account's 5/s with another
 * tool configures their share instead.
 */
export function searchLimit(limits: BudgetLimits): number {
  return limits.searchPerSecond
}

export interface BurstShape {
  windowMs: number
  limit: number
  /** Until HubSpot has said its limit, one request flies at a time (finished ones still count once it has). */
  probing: boolean
}

/**
 * All of HubSpot's Max, no slot held back: the burst limit is per app ("The burst limit applies to
 * each app", https://developers.hubspot.com/docs/api/usage-details), so another tool of the account
 * spends a bucket of its own, and a process sharing our token shows in Remaining, which seeds the
 * window. Every call counts from its answer, after HubSpot counted it, so the window covers HubSpot's.
 */
export function burstShape(limits: BurstLimits): BurstShape {
  const probing = limits.state === 'probing'
  return { windowMs: limits.windowMs, limit: probing ? 1 : limits.max, probing }
}

/**
 * Slots of a window of `limit` a call leaving `headroom` may fill: at least one, and one fewer at
 * least. Headroom splits the burst window only: the search bucket (a few a second) is too small to
 * split, so there priorities only decide the order (priority.ts). While probing (a limit of one)
 * this is that one slot whatever the headroom.
 */
export function admitted(kind: CallKind, limit: number, headroom = 0): number {
  return kind === 'standard' && headroom > 0 ? Math.max(1, limit - Math.max(1, Math.ceil(limit * headroom))) : limit
}

/** How long to wait, when every slot is held by a request still in flight, before asking again. */
const IN_FLIGHT_POLL_MS = 25

/** A request in the window: sent, then answered (HubSpot counted it somewhere in between). */
interface Entry {
  sent: number
  done: number
}

/**
 * One sliding window: requests in flight, and the answered ones still inside it, each counted from
 * its answer. HubSpot counts from arrival, earlier, so this window covers HubSpot's; `learn` uses
 * HubSpot's own count to drop what it has already let go.
 */
class SlidingWindow {
  readonly #completed: Entry[] = []
  #inFlight = 0
  /** When the request in flight was sent, while it is the only one since it was sent. */
  #alone: number | null = null
  probing = false
  constructor(
    public windowMs: number,
    public limit: number,
  ) {}

  #expire(now: number): void {
    while (this.#completed.length && this.#completed[0].done <= now - this.windowMs) this.#completed.shift()
  }

  /** 0 when a slot was taken, else how long to wait before asking again. `admit`: slots this call may fill. */
  tryTake(now: number, admit = this.limit): number {
    this.#expire(now)
    if (this.probing) {
      if (this.#inFlight > 0) return IN_FLIGHT_POLL_MS
      this.#take(now)
      return 0
    }
    if (this.#completed.length + this.#inFlight < admit) {
      this.#take(now)
      return 0
    }
    return this.#completed.length ? Math.max(1, this.#completed[0].done + this.windowMs - now) : IN_FLIGHT_POLL_MS
  }

  #take(now: number): void {
    this.#alone = this.#inFlight === 0 ? now : null
    this.#inFlight += 1
  }

  release(sent: number, now: number): void {
    this.#inFlight -= 1
    if (this.#alone === sent) this.#alone = null
    this.#completed.push({ sent, done: now })
  }

  /** Gives a slot back unused: it was never sent, so it does not count. */
  giveBack(sent: number): void {
    this.#inFlight -= 1
    if (this.#alone === sent) this.#alone = null
  }

  /**
   * HubSpot says `spent` requests are in its window now. Those we do not know of (another process,
   * or the run before a restart) are counted as if they had just finished: HubSpot may hold them
   * for up to a whole window from now, and we cannot know less. When the answer is that of a request
   * alone in flight since it was sent, HubSpot's count covers all of ours that it still holds: as
   * many more as we count were let go there, and they go here too, oldest sent first, among those
   * sent a whole window ago (no other could have left HubSpot's window yet). That opens the next
   * window when HubSpot does rather than a round trip later.
   */
  learn(spent: number, now: number): void {
    const used = this.used(now)
    for (let i = used; i < spent; i++) this.#completed.push({ sent: now, done: now })
    if (this.#alone === null || this.#inFlight !== 1 || spent >= used) return
    const gone = new Set(
      this.#completed
        .filter((entry) => entry.sent + this.windowMs <= now)
        .sort((a, b) => a.sent - b.sent)
        .slice(0, used - spent),
    )
    for (let i = this.#completed.length - 1; i >= 0; i--) if (gone.has(this.#completed[i])) this.#completed.splice(i, 1)
  }

  used(now: number): number {
    this.#expire(now)
    return this.#completed.length + this.#inFlight
  }
}

/**
 * What HubSpot says its window holds (Max − Remaining), when it says: seeds the burst window so that
 * a restart, or another process spending the same account, does not find us assuming a fresh window.
 */
export function spentInWindow(headers: RateLimitHeaders | null): number | null {
  if (!headers || headers.max === undefined || headers.remaining === undefined) return null
  return Math.max(0, Math.min(headers.max, headers.max - headers.remaining))
}

export interface LocalBudgetOptions {
  /** False for a share of the account (Redis down): HubSpot's Remaining counts every instance's calls. */
  seedFromRemaining?: boolean
}

export function createLocalBudget(
  limits: BudgetLimits,
  source: LimitSource = createLocalLimits(limits),
  options: LocalBudgetOptions = {},
): RateBudget {
  const burst = new SlidingWindow(0, 0)
  const search = new SlidingWindow(SEARCH_WINDOW_MS, searchLimit(limits))
  const reshape = () => {
    const shape = burstShape(source.current())
    burst.windowMs = shape.windowMs
    burst.limit = shape.limit
    burst.probing = shape.probing
  }
  let day = new Date().toISOString().slice(0, 10)
  let usedToday = 0

  return {
    async acquire(kind, signal, headroom) {
      for (;;) {
        signal?.throwIfAborted()
        const today = new Date().toISOString().slice(0, 10)
        if (today !== day) [day, usedToday] = [today, 0]
        usedToday = Math.max(usedToday, source.dailyUsed() ?? 0)
        if (usedToday >= source.current().daily) throw new DailyLimitExhausted()
        reshape()
        // Search has its own bucket and is exempt from the burst window (HubSpot's spec marks it so).
        const window = kind === 'search' ? search : burst
        const sent = Date.now()
        const wait = window.tryTake(sent, admitted(kind, window.limit, headroom))
        if (wait === 0) {
          usedToday += 1
          let released = false
          return (unused) => {
            if (released) return
            released = true
            if (!unused) return window.release(sent, Date.now())
            window.giveBack(sent)
            usedToday -= 1
          }
        }
        await sleep(wait, undefined, { signal })
      }
    },
    observe(headers) {
      source.observe(headers)
      const spent = options.seedFromRemaining === false ? null : spentInWindow(headers)
      if (spent === null) return
      reshape()
      burst.learn(spent, Date.now())
    },
    burstLimits: () => source.current(),
    async usage() {
      const now = Date.now()
      const learned = source.current()
      reshape()
      return {
        limit_10s: learned.max,
        admit_10s: burst.limit,
        limit_state: learned.state,
        burst_window_ms: learned.windowMs,
        used_10s: burst.used(now),
        search_limit_s: limits.searchPerSecond,
        used_search_1s: search.used(now),
        daily_limit: learned.daily,
        used_daily: usedToday,
      }
    },
    async close() {},
  }
}

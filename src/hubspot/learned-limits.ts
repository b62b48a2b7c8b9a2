// The account's burst and daily limits as HubSpot states them in its rate-limit headers; the configured values are only the first guess.
import { BURST_WINDOW_MS } from './limits.js'

/**
 * HubSpot sends `X-HubSpot-RateLimit-Max`, `-Remaining`, `-Interval-Milliseconds` and the daily
 * pair on every non-search answer, errors included (search answers carry none).
 * https://developers.hubspot.com/docs/api/usage-details
 *
 *   probing ──first answer with headers──▶ learned ──headers change──▶ learned (new values)
 *      │
 *      └──SILENT_ANSWERS answers without headers──▶ configured (trust the guess)
 *
 * While probing, the budget lets one burst request fly at a time: an account at 50 per 10 s must
 * not see the 189 requests a default guess of 190 would admit at once.
 */
export type LimitState = 'probing' | 'learned' | 'configured'

export interface BurstLimits {
  state: LimitState
  /** Requests per window (HubSpot's Max) */
  max: number
  windowMs: number
  daily: number
}

export interface RateLimitHeaders {
  max?: number
  remaining?: number
  intervalMs?: number
  daily?: number
  dailyRemaining?: number
}

export interface LimitSource {
  /** What the budget keeps to now; synchronous because it is read on every acquire. */
  current(): BurstLimits
  /** Every HubSpot answer's headers, except search's (they carry none and teach nothing). */
  observe(headers: RateLimitHeaders | null): void
  /** Requests HubSpot says the day has used, when it said: a budget never counts fewer. */
  dailyUsed(): number | null
}

/** Answers without rate-limit headers after which the configured guess is trusted (a proxy may strip them). */
export const SILENT_ANSWERS = 3

function positive(value: string | null): number | undefined {
  if (value === null) return undefined
  const n = Number(value)
  return Number.isInteger(n) && n >= 0 ? n : undefined
}

/** null when the answer carries no usable Max: nothing to learn from it. */
export function parseRateLimitHeaders(headers: { get(name: string): string | null }): RateLimitHeaders | null {
  const max = positive(headers.get('x-hubspot-ratelimit-max'))
  if (max === undefined || max === 0) return null
  const intervalMs = positive(headers.get('x-hubspot-ratelimit-interval-milliseconds'))
  const daily = positive(headers.get('x-hubspot-ratelimit-daily'))
  return {
    max,
    remaining: positive(headers.get('x-hubspot-ratelimit-remaining')),
    intervalMs: intervalMs && intervalMs > 0 ? intervalMs : undefined,
    daily: daily && daily > 0 ? daily : undefined,
    dailyRemaining: positive(headers.get('x-hubspot-ratelimit-daily-remaining')),
  }
}

export interface LimitGuess {
  burstPer10s: number
  daily: number
}

/** Learned limits kept by this process alone. `onLearned` hears every change, e.g. to share it. */
export function createLocalLimits(
  guess: LimitGuess,
  onLearned?: (limits: BurstLimits) => void,
): LimitSource & { adopt(limits: Partial<BurstLimits>): void } {
  let limits: BurstLimits = {
    state: 'probing',
    max: guess.burstPer10s,
    windowMs: BURST_WINDOW_MS,
    daily: guess.daily,
  }
  let silent = 0
  let dailyUsed: number | null = null
  return {
    current: () => limits,
    observe(headers) {
      if (!headers) {
        if (limits.state === 'probing' && ++silent >= SILENT_ANSWERS) limits = { ...limits, state: 'configured' }
        return
      }
      if (headers.daily !== undefined && headers.dailyRemaining !== undefined)
        dailyUsed = Math.max(dailyUsed ?? 0, headers.daily - headers.dailyRemaining)
      const next: BurstLimits = {
        state: 'learned',
        max: headers.max!,
        windowMs: headers.intervalMs ?? limits.windowMs,
        daily: headers.daily ?? limits.daily,
      }
      if (
        next.state === limits.state &&
        next.max === limits.max &&
        next.windowMs === limits.windowMs &&
        next.daily === limits.daily
      )
        return
      limits = next
      onLearned?.(limits)
    },
    dailyUsed: () => dailyUsed,
    /** Takes what another instance learned (through Redis) without announcing it again. */
    adopt(shared) {
      if (shared.max === undefined || !(shared.max > 0)) return
      limits = {
        state: 'learned',
        max: shared.max,
        windowMs: shared.windowMs && shared.windowMs > 0 ? shared.windowMs : limits.windowMs,
        daily: shared.daily && shared.daily > 0 ? shared.daily : limits.daily,
      }
    },
  }
}

/** This instance's share of the account's limits, when instances cannot coordinate (Redis down). */
export function shareOf(source: LimitSource, sharers: () => number): LimitSource {
  return {
    current() {
      const limits = source.current()
      const n = Math.max(1, sharers())
      return {
        ...limits,
        max: Math.max(1, Math.floor(limits.max / n)),
        daily: Math.max(1, Math.floor(limits.daily / n)),
      }
    },
    observe: (headers) => source.observe(headers),
    dailyUsed: () => null,
  }
}

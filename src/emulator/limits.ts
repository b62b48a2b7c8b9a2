// HubSpot's three limits: a rolling 10-second burst per token, a per-second search bucket, a daily quota.
import type { RatePolicy } from './errors.js'

const BUCKET_MS = 10
const WINDOW_MS = 10_000
const BUCKETS = WINDOW_MS / BUCKET_MS
const MAX_IDLE_WINDOWS = 1000

/**
 * Counts in 10 ms buckets over a rolling 10 s window. A request expires up to 10 ms late,
 * which errs on the strict side; memory stays fixed however high the limit is set.
 */
export class RollingWindow {
  readonly #counts = new Uint32Array(BUCKETS)
  #lastBucket = 0
  #sum = 0
  #second = 0
  #secondCount = 0

  #advance(now: number): void {
    const bucket = Math.floor(now / BUCKET_MS)
    if (bucket <= this.#lastBucket) return
    const steps = Math.min(bucket - this.#lastBucket, BUCKETS)
    for (let i = 1; i <= steps; i++) {
      const slot = (this.#lastBucket + i) % BUCKETS
      this.#sum -= this.#counts[slot]!
      this.#counts[slot] = 0
    }
    this.#lastBucket = bucket
  }

  used(now: number): number {
    this.#advance(now)
    return this.#sum
  }

  add(now: number): void {
    this.#advance(now)
    this.#counts[this.#lastBucket % BUCKETS]!++
    this.#sum++
    const second = Math.floor(now / 1000)
    if (second !== this.#second) {
      this.#second = second
      this.#secondCount = 0
    }
    this.#secondCount++
  }

  usedThisSecond(now: number): number {
    return Math.floor(now / 1000) === this.#second ? this.#secondCount : 0
  }
}

/** Search's bucket: a rolling one-second window of exact timestamps (the limit is small). */
class SecondWindow {
  #stamps: number[] = []

  tryTake(now: number, limit: number): boolean {
    const stamps = this.#stamps
    while (stamps.length && stamps[0]! <= now - 1000) stamps.shift()
    if (stamps.length >= limit) return false
    stamps.push(now)
    return true
  }
}

export interface LimitSettings {
  rateLimit10s: number
  searchRatePerSecond: number
  dailyLimit: number
}

export type CallKind = 'standard' | 'search' | 'burst-exempt'

export class Limiter {
  readonly #windows = new Map<string, RollingWindow>()
  #search = new SecondWindow()
  #dailyUsed = 0
  #dayStart = startOfDay(Date.now())

  constructor(public settings: LimitSettings) {}

  window(token: string): RollingWindow {
    let w = this.#windows.get(token)
    if (!w) {
      if (this.#windows.size >= MAX_IDLE_WINDOWS) this.#evictIdle(Date.now())
      this.#windows.set(token, (w = new RollingWindow()))
    }
    return w
  }

  /** Any client can invent tokens; windows with nothing in them are dropped so memory stays bounded. */
  #evictIdle(now: number): void {
    for (const [token, w] of this.#windows) if (w.used(now) === 0) this.#windows.delete(token)
  }

  #rollDay(now: number): void {
    if (now - this.#dayStart >= 86_400_000) {
      this.#dayStart = startOfDay(now)
      this.#dailyUsed = 0
    }
  }

  /** Counts the call when allowed; otherwise names the policy that refused it. */
  take(token: string, kind: CallKind, now: number): RatePolicy | null {
    this.#rollDay(now)
    if (this.#dailyUsed >= this.settings.dailyLimit) return 'DAILY'
    if (kind === 'search') {
      if (!this.#search.tryTake(now, this.settings.searchRatePerSecond)) return 'SECONDLY'
    } else if (kind === 'standard') {
      const w = this.window(token)
      if (w.used(now) >= this.settings.rateLimit10s) return 'TEN_SECONDLY_ROLLING'
      w.add(now)
    }
    this.#dailyUsed++
    return null
  }

  /** Appends the X-HubSpot-RateLimit-* headers to a flat name/value list for writeHead. */
  pushHeaders(out: string[], token: string, now: number): void {
    this.#rollDay(now)
    const { rateLimit10s, dailyLimit } = this.settings
    const w = this.window(token)
    const secondly = Math.ceil(rateLimit10s / 10)
    out.push(
      'X-HubSpot-RateLimit-Daily',
      String(dailyLimit),
      'X-HubSpot-RateLimit-Daily-Remaining',
      String(Math.max(0, dailyLimit - this.#dailyUsed)),
      'X-HubSpot-RateLimit-Interval-Milliseconds',
      String(WINDOW_MS),
      'X-HubSpot-RateLimit-Max',
      String(rateLimit10s),
      'X-HubSpot-RateLimit-Remaining',
      String(Math.max(0, rateLimit10s - w.used(now))),
      'X-HubSpot-RateLimit-Secondly',
      String(secondly),
      'X-HubSpot-RateLimit-Secondly-Remaining',
      String(Math.max(0, secondly - w.usedThisSecond(now))),
    )
  }

  usage(now: number): { dailyUsed: number; dailyLimit: number; resetsAt: number } {
    this.#rollDay(now)
    return { dailyUsed: this.#dailyUsed, dailyLimit: this.settings.dailyLimit, resetsAt: this.#dayStart + 86_400_000 }
  }

  reset(): void {
    this.#windows.clear()
    this.#search = new SecondWindow()
    this.#dailyUsed = 0
  }
}

/** The daily limit resets at the account's local midnight; the emulator's account lives in the host's zone. */
function startOfDay(now: number): number {
  const d = new Date(now)
  d.setHours(0, 0, 0, 0)
  return d.getTime()
}

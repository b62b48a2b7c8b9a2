// Unit tests of the learned limits: header parsing, probing → learned → changed, silence → configured, and the budget keeping to them.
import { describe, expect, it, vi } from 'vitest'
import { createLocalBudget, type RateBudget } from './budget.js'
import { createLocalLimits, parseRateLimitHeaders, shareOf, SILENT_ANSWERS } from './learned-limits.js'

const headers = (values: Record<string, string>) => new Headers(values)
const GUESS = { burstPer10s: 190, searchPerSecond: 5, daily: 1_000_000 }
/** Whether the budget admits one more request within 100 ms, or holds it (its window is full). */
const nextSlot = (budget: RateBudget) =>
  Promise.race([
    budget.acquire('standard').then(() => 'admitted'),
    new Promise((resolve) => setTimeout(() => resolve('held'), 100)),
  ])

describe('rate-limit headers', () => {
  it('reads Max, Remaining, the interval and the daily pair; an answer without Max teaches nothing', () => {
    expect(
      parseRateLimitHeaders(
        headers({
          'X-HubSpot-RateLimit-Max': '150',
          'X-HubSpot-RateLimit-Remaining': '149',
          'X-HubSpot-RateLimit-Interval-Milliseconds': '10000',
          'X-HubSpot-RateLimit-Daily': '500000',
          'X-HubSpot-RateLimit-Daily-Remaining': '498677',
        }),
      ),
    ).toEqual({ max: 150, remaining: 149, intervalMs: 10_000, daily: 500_000, dailyRemaining: 498_677 })
    expect(parseRateLimitHeaders(headers({}))).toBeNull()
    expect(parseRateLimitHeaders(headers({ 'X-HubSpot-RateLimit-Max': 'lots' }))).toBeNull()
    // OAuth answers omit the daily pair.
    expect(parseRateLimitHeaders(headers({ 'X-HubSpot-RateLimit-Max': '110' }))).toEqual({
      max: 110,
      remaining: undefined,
      intervalMs: undefined,
      daily: undefined,
      dailyRemaining: undefined,
    })
  })
})

describe('learned limits', () => {
  it('start probing on the guess, learn from the first answer, and follow a change', () => {
    const changes: number[] = []
    const limits = createLocalLimits(GUESS, (l) => changes.push(l.max))
    expect(limits.current()).toMatchObject({ state: 'probing', max: 190, windowMs: 10_000, daily: 1_000_000 })
    limits.observe({ max: 50, intervalMs: 10_000, daily: 250_000, dailyRemaining: 249_000 })
    expect(limits.current()).toEqual({ state: 'learned', max: 50, windowMs: 10_000, daily: 250_000 })
    expect(limits.dailyUsed()).toBe(1_000)
    limits.observe({ max: 50, intervalMs: 10_000 })
    limits.observe({ max: 250, intervalMs: 10_000 })
    expect(limits.current().max).toBe(250)
    expect(changes).toEqual([50, 250])
  })

  it('trust the configured guess after answers that never carry the headers', () => {
    const limits = createLocalLimits(GUESS)
    for (let i = 1; i < SILENT_ANSWERS; i++) limits.observe(null)
    expect(limits.current().state).toBe('probing')
    limits.observe(null)
    expect(limits.current()).toMatchObject({ state: 'configured', max: 190 })
  })

  it('give each of N instances 1/N when they cannot coordinate', () => {
    const limits = createLocalLimits(GUESS)
    limits.observe({ max: 50, daily: 1_000, dailyRemaining: 1_000 })
    expect(shareOf(limits, () => 3).current()).toMatchObject({ max: 16, daily: 333 })
  })
})

describe('the local budget over learned limits', () => {
  it('lets one burst request fly while probing, then admits the learned limit', async () => {
    const limits = createLocalLimits(GUESS)
    const budget = createLocalBudget(GUESS, limits)
    const first = await budget.acquire('standard')
    let second = false
    const waiting = budget.acquire('standard').then((release) => {
      second = true
      return release
    })
    await new Promise((resolve) => setTimeout(resolve, 60))
    expect(second).toBe(false)
    // The first answer says 5 per 10 s: the budget now holds to 5, the probe counting as one.
    limits.observe({ max: 5, intervalMs: 10_000 })
    first()
    ;(await waiting)()
    for (let i = 0; i < 3; i++) (await budget.acquire('standard'))()
    expect(await budget.usage()).toMatchObject({ limit_10s: 5, admit_10s: 5, used_10s: 5, limit_state: 'learned' })
    expect(await nextSlot(budget)).toBe('held')
  })

  it('counts the day as HubSpot does when HubSpot has counted more', async () => {
    const limits = createLocalLimits(GUESS)
    const budget = createLocalBudget(GUESS, limits)
    limits.observe({ max: 100, daily: 10, dailyRemaining: 1 })
    ;(await budget.acquire('standard'))()
    await expect(budget.acquire('standard')).rejects.toThrow(/daily/)
  })

  it('takes what HubSpot says its window has spent (Max − Remaining) as spent, so a restart draws no 429', async () => {
    const limits = createLocalLimits(GUESS)
    const budget = createLocalBudget(GUESS, limits)
    // A fresh process: its probe comes back saying the run before it spent 40 of the account's 50.
    const probe = await budget.acquire('standard')
    budget.observe({ max: 50, remaining: 9, intervalMs: 10_000 })
    probe()
    // 41 spent of the 50 admitted: 9 more, then the window is full until it rolls.
    expect(await budget.usage()).toMatchObject({ limit_10s: 50, admit_10s: 50, used_10s: 41 })
    for (let i = 0; i < 9; i++) (await budget.acquire('standard'))()
    expect(await nextSlot(budget)).toBe('held')
  })

  it('adds only the calls it does not know of, and never takes back its own', async () => {
    const limits = createLocalLimits(GUESS)
    const budget = createLocalBudget(GUESS, limits)
    budget.observe({ max: 50, remaining: 50, intervalMs: 10_000 })
    const releases = await Promise.all(Array.from({ length: 5 }, () => budget.acquire('standard')))
    // HubSpot has seen 3 of our 5 so far: nothing is added, nothing taken back.
    budget.observe({ max: 50, remaining: 47 })
    expect((await budget.usage()).used_10s).toBe(5)
    // Now it counts 12: 7 are another process's.
    budget.observe({ max: 50, remaining: 38 })
    for (const release of releases) release()
    expect((await budget.usage()).used_10s).toBe(12)
    // Said again, the same figure adds nothing.
    budget.observe({ max: 50, remaining: 38 })
    expect((await budget.usage()).used_10s).toBe(12)
  })

  it('gives back a slot taken and never sent, uncounted', async () => {
    const budget = createLocalBudget(GUESS)
    budget.observe({ max: 3, remaining: 3, intervalMs: 10_000 })
    const unused = await budget.acquire('standard')
    unused(true)
    ;(await budget.acquire('standard'))()
    expect(await budget.usage()).toMatchObject({ used_10s: 1, used_daily: 1 })
  })

  it('drops what HubSpot has let go when a request alone in flight hears its count, oldest sent first', async () => {
    vi.useFakeTimers({ toFake: ['Date'] })
    try {
      const budget = createLocalBudget(GUESS)
      budget.observe({ max: 6, remaining: 6, intervalMs: 10_000 })
      // Four requests sent at 0 and answered 2 s later: our window holds them until 12 s.
      const slow = await Promise.all(Array.from({ length: 4 }, () => budget.acquire('standard')))
      vi.advanceTimersByTime(2_000)
      for (const release of slow) release()
      vi.advanceTimersByTime(8_500)
      expect((await budget.usage()).used_10s).toBe(4)
      // At 10.5 s one request alone in flight: HubSpot counts only it, so it had let the four go.
      const alone = await budget.acquire('standard')
      budget.observe({ max: 6, remaining: 5 })
      alone()
      expect((await budget.usage()).used_10s).toBe(1)
      // Two in flight: an answer cannot tell whose arrival HubSpot had counted, so nothing is dropped.
      const [a, b] = [await budget.acquire('standard'), await budget.acquire('standard')]
      budget.observe({ max: 6, remaining: 6 })
      a()
      b()
      expect((await budget.usage()).used_10s).toBe(3)
    } finally {
      vi.useRealTimers()
    }
  })
})

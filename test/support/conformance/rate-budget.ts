// The RateBudget contract as one suite, run against every implementation (in-process, Redis).
import { describe, expect, it } from 'vitest'
import { DailyLimitExhausted, type BudgetLimits, type RateBudget } from '../../../src/hubspot/budget.js'

export interface RateBudgetSubject {
  /** A budget of its own (a fresh namespace where shared) with these limits. */
  open(limits: BudgetLimits): RateBudget
}

const LIMITS: BudgetLimits = { burstPer10s: 10, searchPerSecond: 2, daily: 1_000 }
/** What HubSpot's first answer says: 10 per 10 s, nothing spent yet. */
const HEADERS = { max: 10, remaining: 10, intervalMs: 10_000 }

/** Whether the promise settles within ms (a budget that should make a caller wait must not answer). */
async function settlesWithin(promise: Promise<unknown>, ms: number): Promise<boolean> {
  const timeout = new Promise<false>((resolve) => setTimeout(() => resolve(false), ms))
  return Promise.race([promise.then(() => true), timeout])
}

export function rateBudgetSuite(name: string, subject: RateBudgetSubject): void {
  describe(`RateBudget contract: ${name}`, () => {
    const withBudget = async (limits: BudgetLimits, fn: (budget: RateBudget) => Promise<void>) => {
      const budget = subject.open(limits)
      try {
        await fn(budget)
      } finally {
        await budget.close()
      }
    }

    it('probes one call at a time until HubSpot has said its limit', () =>
      withBudget(LIMITS, async (budget) => {
        expect(budget.burstLimits().state).toBe('probing')
        const release = await budget.acquire('standard')
        const second = budget.acquire('standard')
        expect(await settlesWithin(second, 150)).toBe(false)
        release()
        expect(await settlesWithin(second, 2_000)).toBe(true)
        ;(await second)()
      }))

    it('admits the learned limit per window, then makes the next call wait', () =>
      withBudget(LIMITS, async (budget) => {
        budget.observe(HEADERS)
        expect(budget.burstLimits().max).toBe(10)
        for (let i = 0; i < 10; i++) (await budget.acquire('standard'))()
        const usage = await budget.usage()
        expect(usage).toMatchObject({ limit_10s: 10, admit_10s: 10, used_10s: 10 })
        expect(await settlesWithin(budget.acquire('standard'), 200)).toBe(false)
      }))

    it('keeps the headroom a call leaves for others, checked as it takes', () =>
      withBudget(LIMITS, async (budget) => {
        budget.observe(HEADERS)
        // 2% of 10 is less than one slot: one is left all the same. Taken concurrently, as a burst
        // window's callers take them, so a check apart from the take would let them all through.
        const leaving = await Promise.all(Array.from({ length: 9 }, () => budget.acquire('standard', undefined, 0.02)))
        expect(await settlesWithin(budget.acquire('standard', undefined, 0.02), 200)).toBe(false)
        const unreserved = budget.acquire('standard')
        expect(await settlesWithin(unreserved, 2_000)).toBe(true)
        ;(await unreserved)()
        leaving.forEach((release) => release())
        expect((await budget.usage()).used_10s).toBe(10)
      }))

    it('gives a slot taken and never sent back uncounted', () =>
      withBudget(LIMITS, async (budget) => {
        budget.observe(HEADERS)
        const used = async () => (await budget.usage()).used_10s
        const release = await budget.acquire('standard')
        expect(await used()).toBe(1)
        release(true)
        // The Redis budget gives back with a command of its own: let it arrive.
        await new Promise((resolve) => setTimeout(resolve, 50))
        expect(await used()).toBe(0)
      }))

    it('keeps search in its own per-second bucket, apart from the burst window', () =>
      withBudget(LIMITS, async (budget) => {
        budget.observe(HEADERS)
        for (let i = 0; i < 10; i++) (await budget.acquire('standard'))()
        ;(await budget.acquire('search'))()
        ;(await budget.acquire('search'))()
        const third = budget.acquire('search')
        expect(await settlesWithin(third, 200)).toBe(false)
        expect(await settlesWithin(third, 2_000)).toBe(true)
        ;(await third)()
        const usage = await budget.usage()
        expect(usage.search_limit_s).toBe(2)
        expect(usage.used_10s).toBe(10)
      }))

    it('refuses every call once the daily limit is used up', () =>
      withBudget({ ...LIMITS, daily: 3 }, async (budget) => {
        budget.observe({ ...HEADERS, remaining: undefined })
        for (let i = 0; i < 3; i++) (await budget.acquire('standard'))()
        await expect(budget.acquire('standard')).rejects.toBeInstanceOf(DailyLimitExhausted)
        await expect(budget.acquire('search')).rejects.toBeInstanceOf(DailyLimitExhausted)
        // Refused calls are not counted in the day: it reads the limit, not more.
        expect((await budget.usage()).used_daily).toBe(3)
      }))
  })
}

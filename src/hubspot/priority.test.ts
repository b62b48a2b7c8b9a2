import { describe, expect, it } from 'vitest'
import type { BudgetUsage, CallKind, RateBudget, Release } from './budget.js'
import { currentPriority, prioritized, withPriority, type Priority } from './priority.js'

/** A budget of `slots` concurrent calls, whose usage the test sets. */
function fakeBudget(slots: number) {
  let free = slots
  const waiting: Array<(release: Release) => void> = []
  const usage: BudgetUsage = {
    limit_10s: 100,
    admit_10s: 99,
    limit_state: 'learned',
    burst_window_ms: 10_000,
    used_10s: 0,
    search_limit_s: 5,
    used_search_1s: 0,
    daily_limit: 1000,
    used_daily: 0,
  }
  const release = () => {
    const next = waiting.shift()
    if (next) next(release)
    else free += 1
  }
  const budget: RateBudget = {
    acquire: (_kind: CallKind) =>
      new Promise<Release>((resolve) => {
        if (free > 0) {
          free -= 1
          resolve(release)
        } else waiting.push(resolve)
      }),
    usage: async () => ({ ...usage }),
    observe: () => undefined,
    burstLimits: () => ({ state: 'learned', max: usage.limit_10s, windowMs: 10_000, daily: usage.daily_limit }),
    close: async () => {},
  }
  return { budget, usage }
}

const tick = () => new Promise((resolve) => setTimeout(resolve, 5))

describe('prioritized budget', () => {
  it('hands each freed slot to the most urgent waiter: writes, demand, background, bulk', async () => {
    const { budget } = fakeBudget(1)
    const gate = prioritized(budget)
    const hold = await gate.acquire('standard')
    const order: Priority[] = []
    const ask = (priority: Priority) =>
      withPriority(priority, async () => {
        const release = await gate.acquire('standard')
        order.push(priority)
        await tick()
        release()
      })
    const all = [ask('bulk'), ask('bulk'), ask('background'), ask('demand'), ask('write'), ask('bulk')]
    await tick()
    expect(gate.priorityStats().waiting).toEqual({ write: 1, demand: 1, background: 1, bulk: 3 })
    hold()
    await Promise.all(all)
    // The first bulk call was already at the inner budget when the slot freed; it gets the slot only if nothing better waits.
    expect(order).toEqual(['write', 'demand', 'background', 'bulk', 'bulk', 'bulk'])
    expect(gate.priorityStats().granted).toEqual({ write: 2, demand: 1, background: 1, bulk: 3 })
  })

  it('leaves the last slots of the window to higher priorities', async () => {
    const { budget, usage } = fakeBudget(10)
    const gate = prioritized(budget)
    usage.used_10s = 97 // of 99 usable: bulk and background keep 2 back, demand 1
    let bulkGot = false
    const bulk = withPriority('bulk', () => gate.acquire('standard')).then((release) => {
      bulkGot = true
      release()
    })
    await new Promise((resolve) => setTimeout(resolve, 120))
    expect(bulkGot).toBe(false)
    expect(gate.priorityStats().heldBack.bulk).toBeGreaterThan(0)
    // A write is not held back, and goes ahead of the waiting bulk call.
    ;(await gate.acquire('standard'))()
    usage.used_10s = 10
    await bulk
    expect(bulkGot).toBe(true)
  })

  it('keeps the priority across awaits and defaults to write', async () => {
    expect(currentPriority()).toBe('write')
    await withPriority('background', async () => {
      await tick()
      expect(currentPriority()).toBe('background')
      await withPriority('bulk', async () => expect(currentPriority()).toBe('bulk'))
      expect(currentPriority()).toBe('background')
    })
  })
})

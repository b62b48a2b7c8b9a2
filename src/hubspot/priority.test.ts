import { describe, expect, it } from 'vitest'
import { admitted, type BudgetUsage, type CallKind, type RateBudget, type Release } from './budget.js'
import { currentPriority, prioritized, withPriority, type Priority } from './priority.js'

/** A budget of `slots` concurrent calls, whose usage the test sets; it honours headroom as it takes. */
function fakeBudget(slots: number) {
  let free = slots
  const asked = { acquire: 0, usage: 0 }
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
  const release = () => void (free += 1)
  const budget: RateBudget = {
    acquire: (_kind: CallKind, signal?: AbortSignal, headroom?: number) =>
      new Promise<Release>((resolve, reject) => {
        asked.acquire += 1
        const attempt = () => {
          if (signal?.aborted) return reject(signal.reason)
          if (free > 0 && usage.used_10s < admitted('standard', usage.admit_10s, headroom)) {
            free -= 1
            return resolve(release)
          }
          setTimeout(attempt, 2)
        }
        attempt()
      }),
    usage: async () => {
      asked.usage += 1
      return { ...usage }
    },
    observe: () => undefined,
    burstLimits: () => ({ state: 'learned', max: usage.limit_10s, windowMs: 10_000, daily: usage.daily_limit }),
    close: async () => {},
  }
  return { budget, usage, asked }
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
    // A write is not held back, and goes ahead of the waiting bulk call, whose wait it sets aside.
    ;(await gate.acquire('standard'))()
    expect(bulkGot).toBe(false)
    expect(gate.priorityStats().heldBack.bulk).toBe(1)
    usage.used_10s = 10
    await bulk
    expect(bulkGot).toBe(true)
  })

  it('asks the budget once per slot: the headroom goes with the take, with no usage look-up first', async () => {
    const { budget, asked } = fakeBudget(20)
    const gate = prioritized(budget)
    const releases = await withPriority('bulk', () =>
      Promise.all(Array.from({ length: 10 }, () => gate.acquire('standard'))),
    )
    releases.forEach((release) => release())
    expect(asked).toEqual({ acquire: 10, usage: 0 })
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

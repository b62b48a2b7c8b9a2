// The shared HubSpot budget: instances announce themselves, so that cut off from Redis each spends only its share.
import { describe, expect, it } from 'vitest'
import { createRedisBudget } from '../../src/hubspot/budget-redis.js'
import { testNamespace } from '../support/env.js'

describe.skipIf(!process.env.REDIS_URL)('Redis budget', () => {
  it('counts the instances sharing it, and falls back to a share of the limit when Redis is unreachable', async () => {
    const namespace = testNamespace('sharers')
    const limits = { burstPer10s: 40, searchPerSecond: 5, daily: 1_000 }
    const a = createRedisBudget({ url: process.env.REDIS_URL as string, namespace, limits })
    const b = createRedisBudget({ url: process.env.REDIS_URL as string, namespace, limits })
    // What the client passes on from HubSpot's first answer: until then the budget probes one call at a time.
    a.observe({ max: 40, intervalMs: 10_000 })
    ;(await a.acquire('standard'))()
    ;(await b.acquire('standard'))()
    // Each instance announces itself at most once a second.
    await new Promise((resolve) => setTimeout(resolve, 1_100))
    ;(await a.acquire('standard'))()
    await new Promise((resolve) => setTimeout(resolve, 50))
    await a.close()
    await b.close()
    expect(a.sharers()).toBe(2)
    // Closed: every call now falls back, and a's share of 40 per 10 s is 20.
    for (let i = 0; i < 20; i++) await a.acquire('standard')
    const usage = await a.usage()
    expect(usage.limit_10s).toBe(20)
    expect(usage.used_10s).toBe(20)
  })
})

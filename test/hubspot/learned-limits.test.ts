// Limits learned from HubSpot's headers: no limit configured on an account at 50 per 10 s, not one 429; a raised limit followed; shared through Redis.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { RunningEmulator } from '../../src/emulator/index.js'
import { createHubSpot, type HubSpot } from '../../src/hubspot/index.js'
import { testConfig } from '../support/env.js'
import { startTestEmulator } from '../support/fixtures.js'

describe('limits learned from HubSpot', () => {
  let emulator: RunningEmulator
  const clients: HubSpot[] = []
  beforeAll(async () => {
    emulator = await startTestEmulator({ rateLimit10s: 50 })
  })
  afterAll(async () => {
    for (const client of clients) await client.close()
    await emulator.close()
  })
  const client = (namespace?: string) => {
    // No HUBSPOT_RATE_LIMIT_10S: the budget starts from the default guess of 190, as a user who does not know their tier.
    const hubspot = createHubSpot(testConfig({ redisNamespace: namespace }), {
      baseUrl: emulator.url,
      accessToken: 'x',
    })
    clients.push(hubspot)
    return hubspot
  }
  const list = (hubspot: HubSpot) => hubspot.crm.listPage('2-50001', { properties: [], limit: 1 })

  it('keeps an account at 50 per 10 s free of 429s with no limit configured, and follows a raise to 250', async () => {
    emulator.reset()
    const namespace = `hmtest-learned-${Date.now()}`
    const hubspot = client(namespace)
    expect(await hubspot.client.budget.usage()).toMatchObject({ limit_10s: 190, limit_state: 'probing' })
    const started = Date.now()
    await Promise.all(Array.from({ length: 60 }, () => list(hubspot)))
    expect(emulator.stats().byStatus['429'] ?? 0).toBe(0)
    expect(hubspot.client.stats.rateLimited).toBe(0)
    // 49 fit the first window (one slot of headroom); the rest waited for it to roll.
    expect(Date.now() - started).toBeGreaterThan(9_000)
    expect(await hubspot.client.budget.usage()).toMatchObject({ limit_10s: 50, admit_10s: 49, limit_state: 'learned' })

    // Another instance sharing Redis starts from what the first learned, not from probing.
    if (process.env.REDIS_URL)
      expect(await client(namespace).client.budget.usage()).toMatchObject({ limit_10s: 50, limit_state: 'learned' })

    // An API add-on raises the limit: the next answer says so, and the budget spends it.
    emulator.setLimits({ rateLimit10s: 250 })
    await list(hubspot)
    expect((await hubspot.client.budget.usage()).limit_10s).toBe(250)
    const raised = Date.now()
    await Promise.all(Array.from({ length: 100 }, () => list(hubspot)))
    expect(Date.now() - raised).toBeLessThan(8_000)
    expect(emulator.stats().byStatus['429'] ?? 0).toBe(0)
  }, 60_000)

  /** Another tool on the same account (same token), which shares nothing with us: plain calls. */
  const spendElsewhere = async (calls: number) => {
    for (let i = 0; i < calls; i++) {
      const response = await fetch(`${emulator.url}/crm/v3/objects/2-50001?limit=1`, {
        headers: { authorization: 'Bearer x' },
      })
      expect(response.status).toBe(200)
      await response.arrayBuffer()
    }
  }

  it('takes the window another process spent from Remaining, and shares it through Redis', async () => {
    emulator.reset()
    emulator.setLimits({ rateLimit10s: 50 })
    await spendElsewhere(40)
    const namespace = `hmtest-remaining-${Date.now()}`
    const first = client(namespace)
    // Its first answer says 41 of 50 are spent: the budget counts them, it does not assume a fresh window.
    await list(first)
    expect(await first.client.budget.usage()).toMatchObject({ limit_10s: 50, used_10s: 41 })
    // A second instance on the same Redis keeps to the same window (with Redis); or the first goes on alone.
    const second = process.env.REDIS_URL ? client(namespace) : first
    const started = Date.now()
    await Promise.all(Array.from({ length: 20 }, () => list(second)))
    expect(emulator.stats().byStatus['429'] ?? 0).toBe(0)
    expect(first.client.stats.rateLimited + second.client.stats.rateLimited).toBe(0)
    // Only 7 more fitted that window (49 admitted, 42 spent): the rest waited for it to roll.
    expect(Date.now() - started).toBeGreaterThan(8_000)
  }, 60_000)
})

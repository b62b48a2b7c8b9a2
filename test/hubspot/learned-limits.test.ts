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
})

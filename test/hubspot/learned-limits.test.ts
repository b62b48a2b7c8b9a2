// Limits learned from HubSpot's headers: no limit configured on an account at 50 per 10 s, not one 429; a raised limit followed; shared through Redis.
import { spawn } from 'node:child_process'
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
    // 50 fit the first window; the rest waited for it to roll.
    expect(Date.now() - started).toBeGreaterThan(9_000)
    expect(await hubspot.client.budget.usage()).toMatchObject({ limit_10s: 50, admit_10s: 50, limit_state: 'learned' })

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

  /** hubmirror's budget in a process of its own (test/support/hubspot-caller.ts): what it printed. */
  const callerProcess = (namespace: string, calls: number) =>
    new Promise<{ ms: number; rateLimited: number; usage: { used_10s: number; limit_state: string } }>(
      (resolve, reject) => {
        const child = spawn(process.execPath, ['--import', 'tsx', 'test/support/hubspot-caller.ts'], {
          env: { ...process.env, CALLER_URL: emulator.url, CALLER_NAMESPACE: namespace, CALLER_CALLS: String(calls) },
          stdio: ['ignore', 'pipe', 'pipe'],
        })
        let out = ''
        let err = ''
        child.stdout.on('data', (chunk) => (out += chunk))
        child.stderr.on('data', (chunk) => (err += chunk))
        child.on('exit', (code) =>
          code === 0 ? resolve(JSON.parse(out.trim().split('\n').at(-1)!)) : reject(new Error(err)),
        )
      },
    )

  it.skipIf(!process.env.REDIS_URL)(
    'shares what Remaining said across processes: a new process on the same Redis keeps to the spent window',
    async () => {
      emulator.reset()
      emulator.setLimits({ rateLimit10s: 50 })
      await spendElsewhere(40)
      const namespace = `hmtest-remaining-procs-${Date.now()}`
      // One process's single call hears that 41 of 50 are spent, and writes it to Redis.
      const first = await callerProcess(namespace, 1)
      expect(first.usage).toMatchObject({ used_10s: 41, limit_state: 'learned' })
      // A second process starts from the learned limit (no probing) and would send 20 at once; the
      // shared window lets 7 through and holds the rest until it rolls.
      const second = await callerProcess(namespace, 20)
      expect(second.rateLimited).toBe(0)
      expect(emulator.stats().byStatus['429'] ?? 0).toBe(0)
      expect(second.ms).toBeGreaterThan(3_000)
    },
    60_000,
  )
})

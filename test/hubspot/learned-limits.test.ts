// Limits learned from HubSpot's headers: no limit configured on an account at 50 per 10 s, not one 429; a raised limit followed; shared through Redis.
import { spawn } from 'node:child_process'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { RunningEmulator } from '../../src/emulator/index.js'
import { createHubSpot, type HubSpot } from '../../src/hubspot/index.js'
import { testConfig, testNamespace } from '../support/env.js'
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
    const namespace = testNamespace('learned')
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
    await Promise.all(Array.from({ length: 100 }, () => list(hubspot)))
    // Counted, not timed: the old limit never lets more than 50 into one window.
    expect((await hubspot.client.budget.usage()).used_10s).toBeGreaterThan(50)
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

  /** What an instance made of its calls: the limit state it started from, how long they took, the 429s it met, its budget after. */
  interface Spent {
    startedAs: string
    ms: number
    rateLimited: number
    usage: { limit_10s: number; used_10s: number; limit_state: string }
  }
  /** hubmirror's budget in a process of its own (test/support/hubspot-caller.ts): what it printed. */
  const callerProcess = (namespace: string, calls: number) =>
    new Promise<Spent>((resolve, reject) => {
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
    })

  const alone = new Map<string, HubSpot>()
  /** `calls` calls at once from a new client of this process; with no Redis to share through, from the first one again. */
  const spendHere = async (namespace: string, calls: number): Promise<Spent> => {
    const hubspot = (!process.env.REDIS_URL && alone.get(namespace)) || client(namespace)
    alone.set(namespace, hubspot)
    const startedAs = (await hubspot.client.budget.usage()).limit_state
    const started = Date.now()
    await Promise.all(Array.from({ length: calls }, () => list(hubspot)))
    return {
      startedAs,
      ms: Date.now() - started,
      rateLimited: hubspot.client.stats.rateLimited,
      usage: await hubspot.client.budget.usage(),
    }
  }
  // Two processes' start-up spends part of the window before the second one's calls: less is left to wait.
  const instances = [
    { of: 'clients in this process', skip: false, minWaitMs: 8_000, spend: spendHere },
    { of: 'processes', skip: !process.env.REDIS_URL, minWaitMs: 3_000, spend: callerProcess },
  ]

  for (const { of, skip, minWaitMs, spend } of instances)
    it.skipIf(skip)(
      `takes the window another tool spent from Remaining, and shares it through Redis across ${of}`,
      async () => {
        emulator.reset()
        emulator.setLimits({ rateLimit10s: 50 })
        await spendElsewhere(40)
        const namespace = testNamespace(`remaining-${of.replaceAll(' ', '-')}`)
        // The first instance's single call hears that 41 of 50 are spent: the budget counts them (and,
        // with Redis, writes them there), it does not assume a fresh window.
        const first = await spend(namespace, 1)
        expect(first.startedAs).toBe('probing')
        expect(first.usage).toMatchObject({ limit_10s: 50, used_10s: 41, limit_state: 'learned' })
        // A second instance starts from the learned limit (no probing) and sends 20 at once: the
        // shared window lets 8 through (50 admitted, 42 spent) and holds the rest until it rolls.
        const second = await spend(namespace, 20)
        expect(second.startedAs).toBe('learned')
        expect(emulator.stats().byStatus['429'] ?? 0).toBe(0)
        expect(first.rateLimited + second.rateLimited).toBe(0)
        expect(second.ms).toBeGreaterThan(minWaitMs)
      },
      60_000,
    )
})

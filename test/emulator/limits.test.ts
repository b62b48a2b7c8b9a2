// Raw HTTP checks of what the SDK hides: rate-limit headers, each 429 body, auth, faults and stats.
import { Client } from '@hubspot/api-client'
import { afterEach, describe, expect, it } from 'vitest'
import { startEmulator, type EmulatorOptions, type RunningEmulator } from '../../src/emulator/index.js'

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/

/** A 429 body as HubSpot words it for the policy: the official client keys its retries on these strings. */
async function expectRateLimited(res: Response, limit: string, policyName: string): Promise<void> {
  const body = await res.json()
  expect(body).toMatchObject({
    status: 'error',
    message: `You have reached your ${limit} limit.`,
    errorType: 'RATE_LIMIT',
    policyName,
  })
  expect(body.correlationId).toMatch(UUID)
}
const RATE_HEADERS = [
  'x-hubspot-ratelimit-daily',
  'x-hubspot-ratelimit-daily-remaining',
  'x-hubspot-ratelimit-interval-milliseconds',
  'x-hubspot-ratelimit-max',
  'x-hubspot-ratelimit-remaining',
  'x-hubspot-ratelimit-secondly',
  'x-hubspot-ratelimit-secondly-remaining',
]

let running: RunningEmulator[] = []
afterEach(async () => {
  await Promise.all(running.map((e) => e.close()))
  running = []
})

async function emulator(options: EmulatorOptions = {}): Promise<RunningEmulator> {
  const e = await startEmulator({ seed: 200, ...options })
  running.push(e)
  return e
}

function call(e: RunningEmulator, path: string, init: RequestInit & { token?: string | null } = {}): Promise<Response> {
  const headers: Record<string, string> = { 'content-type': 'application/json' }
  if (init.token !== null) headers.authorization = `Bearer ${init.token ?? 'token-a'}`
  return fetch(e.url + path, { ...init, headers: { ...headers, ...(init.headers as Record<string, string>) } })
}

const search = (e: RunningEmulator, token?: string) =>
  call(e, '/crm/v3/objects/bookings/search', { method: 'POST', body: '{"limit":1}', token })

function rateHeaders(res: Response): string[] {
  return RATE_HEADERS.filter((h) => res.headers.has(h))
}

describe('rate-limit headers', () => {
  it('are on every non-search response, errors included, and never on search', async () => {
    const e = await emulator({ rateLimit10s: 50, dailyLimit: 1000 })
    const ok = await call(e, '/crm/v3/objects/bookings?limit=1')
    expect(rateHeaders(ok)).toEqual(RATE_HEADERS)
    expect(ok.headers.get('x-hubspot-ratelimit-max')).toBe('50')
    expect(ok.headers.get('x-hubspot-ratelimit-remaining')).toBe('49')
    expect(ok.headers.get('x-hubspot-ratelimit-interval-milliseconds')).toBe('10000')
    expect(ok.headers.get('x-hubspot-ratelimit-daily-remaining')).toBe('999')
    for (const path of ['/crm/v3/objects/bookings/1', '/crm/v3/objects/bookings?limit=500', '/crm/v3/nothing-here']) {
      const res = await call(e, path)
      expect(res.status).toBeGreaterThanOrEqual(400)
      expect(rateHeaders(res)).toEqual(RATE_HEADERS)
      expect(res.headers.get('content-type')).toMatch(/^application\/json/)
    }
    const found = await search(e)
    expect(found.status).toBe(200)
    expect(rateHeaders(found)).toEqual([])
    const badSearch = await call(e, '/crm/v3/objects/bookings/search', { method: 'POST', body: '{"limit":500}' })
    expect(badSearch.status).toBe(400)
    expect(rateHeaders(badSearch)).toEqual([])
  })
})

describe('429 bodies', () => {
  it('answers the ten-second burst with TEN_SECONDLY_ROLLING, per token', async () => {
    const e = await emulator({ rateLimit10s: 3 })
    for (let i = 0; i < 3; i++) expect((await call(e, '/crm/v3/objects/bookings')).status).toBe(200)
    const res = await call(e, '/crm/v3/objects/bookings')
    expect(res.status).toBe(429)
    expect(res.headers.get('content-type')).toMatch(/^application\/json/)
    expect(res.headers.get('x-hubspot-ratelimit-remaining')).toBe('0')
    await expectRateLimited(res, 'ten_secondly_rolling', 'TEN_SECONDLY_ROLLING')
    expect((await call(e, '/crm/v3/objects/bookings', { token: 'token-b' })).status).toBe(200)
    // association batch endpoints are exempt from the burst limit
    const exempt = await call(e, '/crm/v4/associations/bookings/mock_exams/batch/read', {
      method: 'POST',
      body: '{"inputs":[]}',
    })
    expect(exempt.status).toBe(200)
  })

  it('answers the search bucket with the secondly body and no headers', async () => {
    const e = await emulator({ searchRatePerSecond: 2 })
    expect((await search(e)).status).toBe(200)
    expect((await search(e, 'other-token')).status).toBe(200)
    const res = await search(e)
    expect(res.status).toBe(429)
    expect(rateHeaders(res)).toEqual([])
    await expectRateLimited(res, 'secondly', 'SECONDLY')
  })

  it('answers the daily limit with DAILY, search included in the count', async () => {
    const e = await emulator({ dailyLimit: 3 })
    expect((await call(e, '/crm/v3/objects/bookings')).status).toBe(200)
    expect((await search(e)).status).toBe(200)
    expect((await call(e, '/crm/v3/schemas')).status).toBe(200)
    const res = await call(e, '/crm/v3/objects/bookings')
    expect(res.status).toBe(429)
    expect(res.headers.get('x-hubspot-ratelimit-daily-remaining')).toBe('0')
    expect(await res.json()).toMatchObject({
      message: 'You have reached your daily limit.',
      errorType: 'RATE_LIMIT',
      policyName: 'DAILY',
    })
  })

  it('lets the official client retry a secondly 429 (the strings match what it keys on)', async () => {
    const e = await emulator({ searchRatePerSecond: 1 })
    const client = new Client({ accessToken: 'x', basePath: e.url, numberOfApiCallRetries: 3 })
    const body = { filterGroups: [], sorts: [], properties: [], limit: 1, after: '0' }
    await client.crm.objects.searchApi.doSearch('bookings', body)
    const second = await client.crm.objects.searchApi.doSearch('bookings', body)
    expect(second.total).toBe(200)
    expect(e.stats().byStatus['429']).toBe(1)
  })
})

describe('authentication', () => {
  it('answers a missing or wrong token with a HubSpot-shaped 401', async () => {
    const e = await emulator({ token: 'secret' })
    expect((await call(e, '/crm/v3/objects/bookings', { token: 'secret' })).status).toBe(200)
    for (const token of ['wrong', null]) {
      const res = await call(e, '/crm/v3/objects/bookings', { token })
      expect(res.status).toBe(401)
      expect(res.headers.get('content-type')).toMatch(/^application\/json/)
      const body = await res.json()
      expect(body).toMatchObject({ status: 'error', category: 'INVALID_AUTHENTICATION' })
      expect(body.correlationId).toMatch(UUID)
    }
  })
})

describe('/_emulator routes', () => {
  it('are neither rate-limited nor counted, and stats key routes by template', async () => {
    const e = await emulator({ rateLimit10s: 2 })
    await call(e, '/crm/v3/objects/bookings/123')
    await call(e, '/crm/v3/objects/bookings/456')
    for (let i = 0; i < 5; i++) expect((await fetch(`${e.url}/_emulator/stats`)).status).toBe(200)
    const stats = await (await fetch(`${e.url}/_emulator/stats`)).json()
    expect(stats.total).toBe(2)
    expect(stats.byRoute).toEqual({ 'GET /crm/v3/objects/:type/:id': 2 })
    expect(stats.byStatus).toEqual({ 404: 2 })
    expect(Object.keys(stats.byRoute).some((k: string) => k.includes('_emulator'))).toBe(false)
  })

  it('resets and seeds', async () => {
    const e = await emulator()
    const count = async () => (await (await search(e)).json()).total
    await fetch(`${e.url}/_emulator/reset`, { method: 'POST' })
    expect(await count()).toBe(0)
    await fetch(`${e.url}/_emulator/seed`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{"seed":300}',
    })
    expect(await count()).toBe(300)
  })
})

describe('faults', () => {
  const create = (e: RunningEmulator) =>
    call(e, '/crm/v3/objects/bookings', { method: 'POST', body: '{"properties":{"booking_id":"FAULT-1"}}' })
  const postFaults = (e: RunningEmulator, faults: object) =>
    fetch(`${e.url}/_emulator/faults`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(faults),
    })
  const exists = async (e: RunningEmulator) =>
    (await call(e, '/crm/v3/objects/bookings/FAULT-1?idProperty=booking_id')).status === 200

  it('injects 429 storms and 5xx answers without applying the write', async () => {
    const e = await emulator()
    expect((await postFaults(e, { rate429: 1 })).status).toBe(200)
    const limited = await create(e)
    expect(limited.status).toBe(429)
    expect((await limited.json()).policyName).toBe('TEN_SECONDLY_ROLLING')
    await postFaults(e, { rate429: 0, rate5xx: 1 })
    const failed = await create(e)
    expect([502, 503]).toContain(failed.status)
    expect(failed.headers.get('content-type')).toMatch(/^application\/json/)
    expect((await fetch(`${e.url}/_emulator/stats`)).status).toBe(200)
    await fetch(`${e.url}/_emulator/faults`, { method: 'DELETE' })
    expect(await exists(e)).toBe(false)
    expect((await create(e)).status).toBe(201)
  })

  it('holds requests on a timeout fault (and never applies them), and adds latency', async () => {
    const e = await emulator()
    e.setFaults({ timeoutRate: 1, timeoutHoldMs: 300 })
    await expect(create(e)).rejects.toThrow()
    e.setFaults({ timeoutRate: 0, latencyMs: 150 })
    const started = Date.now()
    expect(await exists(e)).toBe(false)
    expect(Date.now() - started).toBeGreaterThanOrEqual(140)
    await postFaults(e, { nonsense: 1 }).then(async (r) => expect(r.status).toBe(400))
  })
})

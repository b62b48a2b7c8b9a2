// The HubSpot client against the emulator: budget kept (also shared through Redis), retries, error mapping.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { RunningEmulator } from '../../src/emulator/index.js'
import { createHubSpot, type HubSpot } from '../../src/hubspot/index.js'
import { testConfig, testNamespace } from '../support/env.js'
import { startTestEmulator } from '../support/fixtures.js'

describe('HubSpot client', () => {
  let emulator: RunningEmulator
  const clients: HubSpot[] = []
  beforeAll(async () => {
    emulator = await startTestEmulator({ rateLimit10s: 10 })
  })
  afterAll(async () => {
    for (const client of clients) await client.close()
    await emulator.close()
  })

  const client = (options: { redis?: boolean; namespace?: string; deadlineMs?: number } = {}) => {
    const config = testConfig({
      redis: options.redis ?? false,
      redisNamespace: options.namespace,
      env: { HUBSPOT_RATE_LIMIT_10S: '10' },
    })
    const hubspot = createHubSpot(config, {
      baseUrl: emulator.url,
      accessToken: 'x',
      retry: { deadlineMs: options.deadlineMs ?? 15_000 },
    })
    clients.push(hubspot)
    return hubspot
  }

  it('resolves the custom object types through the schemas endpoint', async () => {
    expect(await client().objectTypes()).toEqual({ exams: '2-50001', bookings: '2-50002' })
  })

  it.each(['2026-03', 'v3'] as const)('builds every path from HUBSPOT_API_VERSION=%s', async (version) => {
    emulator.reset()
    const config = testConfig({ redis: false, env: { HUBSPOT_API_VERSION: version } })
    const hubspot = createHubSpot(config, { baseUrl: emulator.url, accessToken: 'x' })
    clients.push(hubspot)
    const types = await hubspot.objectTypes()
    const exam = await hubspot.crm.create(types.exams, { mock_exam_name: 'paths' })
    await hubspot.crm.update(types.exams, exam.id, { capacity: '3' })
    expect((await hubspot.crm.get(types.exams, exam.id, ['capacity']))?.properties.capacity).toBe('3')
    await hubspot.crm.listPage(types.exams, { properties: [] })
    await hubspot.crm.batchRead(types.exams, [exam.id], ['capacity'])
    const upserted = await hubspot.crm.batchUpsert(types.bookings, 'booking_id', [{ id: 'P-1', properties: {} }])
    expect(upserted.results[0]?.new).toBe(true)
    await hubspot.crm.batchUpdate(types.exams, [{ id: exam.id, properties: { capacity: '4' } }])
    await hubspot.crm.search(types.exams, { limit: 1 })
    expect(await hubspot.crm.archive(types.exams, exam.id)).toBe(true)
    const other = version === 'v3' ? '2026-03' : 'v3'
    expect(emulator.stats().byFamily).toEqual({ [version]: 10, [other]: 0 })
  })

  it('resolves p_<name> and fully-qualified references once, and names an unknown one', async () => {
    emulator.reset()
    const config = testConfig({
      redis: false,
      env: { HUBSPOT_MOCK_EXAMS_OBJECT: 'p_mock_exams', HUBSPOT_BOOKINGS_OBJECT: `p${emulator.portalId}_bookings` },
    })
    const hubspot = createHubSpot(config, { baseUrl: emulator.url, accessToken: 'x' })
    clients.push(hubspot)
    expect(await hubspot.objectTypes()).toEqual({ exams: '2-50001', bookings: '2-50002' })
    expect(await hubspot.objectTypes()).toEqual({ exams: '2-50001', bookings: '2-50002' })
    const schemaCalls = Object.entries(emulator.stats().byRoute).filter(([key]) => key.includes('schemas'))
    expect(schemaCalls.reduce((n, [, count]) => n + count, 0)).toBe(1)

    const wrong = createHubSpot(testConfig({ redis: false, env: { HUBSPOT_BOOKINGS_OBJECT: 'p_nothing' } }), {
      baseUrl: emulator.url,
      accessToken: 'x',
    })
    clients.push(wrong)
    await expect(wrong.objectTypes()).rejects.toThrow(/HUBSPOT_BOOKINGS_OBJECT.*p_nothing/)
  })

  it('stays inside the burst limit without a single 429, even across two instances sharing Redis', async () => {
    emulator.reset()
    const namespace = testNamespace('budget')
    const shared = process.env.REDIS_URL
      ? [client({ redis: true, namespace }), client({ redis: true, namespace })]
      : [client()]
    const started = Date.now()
    await Promise.all(
      Array.from({ length: 14 }, (_, i) =>
        shared[i % shared.length].crm.listPage('2-50001', { properties: [], limit: 1 }),
      ),
    )
    expect(emulator.stats().byStatus['429'] ?? 0).toBe(0)
    // 14 calls at 10 per rolling 10 s: the last ones waited for the window.
    expect(Date.now() - started).toBeGreaterThan(9_000)
  }, 30_000)

  it('retries a 5xx on an idempotent call until it succeeds', async () => {
    emulator.reset()
    const hubspot = createHubSpot(testConfig({ redis: false }), { baseUrl: emulator.url, accessToken: 'x' })
    clients.push(hubspot)
    // Every attempt fails until the fault clears; the first retry comes after ≥ 250 ms of backoff.
    emulator.setFaults({ rate5xx: 1 })
    setTimeout(() => emulator.clearFaults(), 100)
    expect((await hubspot.crm.listPage('2-50001', { properties: [], limit: 1 })).results).toEqual([])
    expect(hubspot.client.stats.retries).toBeGreaterThan(0)
    expect(emulator.stats().byStatus['200']).toBe(1)
  })

  it('does not retry a non-idempotent create after a 5xx, and maps it to E_HUBSPOT_UNAVAILABLE', async () => {
    emulator.reset()
    emulator.setFaults({ rate5xx: 1 })
    const hubspot = createHubSpot(testConfig({ redis: false }), { baseUrl: emulator.url, accessToken: 'x' })
    clients.push(hubspot)
    await expect(hubspot.crm.create('2-50001', { mock_exam_name: 'x' })).rejects.toMatchObject({
      code: 'E_HUBSPOT_UNAVAILABLE',
      status: 502,
    })
    expect(hubspot.client.stats.calls).toBe(1)
    emulator.clearFaults()
  })

  it('maps a refused write to E_HUBSPOT_VALIDATION naming the property, and a missing object to null', async () => {
    const hubspot = client()
    await expect(hubspot.crm.create('2-50001', { no_such_property: 'x' })).rejects.toMatchObject({
      code: 'E_HUBSPOT_VALIDATION',
      status: 422,
      field: 'no_such_property',
      message: expect.stringContaining('no_such_property'),
    })
    // A read HubSpot refuses is not the caller's to fix: it stays E_HUBSPOT_REJECTED.
    await expect(
      hubspot.crm.listPage('2-50001', { properties: [], limit: 1, after: 'not-a-cursor' }),
    ).rejects.toMatchObject({
      code: 'E_HUBSPOT_REJECTED',
    })
    expect(await hubspot.crm.get('2-50001', '987654321', [])).toBeNull()
  })
})

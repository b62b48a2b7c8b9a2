// Malformed JSON, wrong types, huge bodies and random garbage: HubSpot-shaped 4xx, never a 5xx or a crash.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startEmulator, type RunningEmulator } from '../../src/emulator/index.js'

let e: RunningEmulator
beforeAll(async () => {
  e = await startEmulator({ seed: 200, rateLimit10s: 1_000_000, searchRatePerSecond: 1_000_000 })
})
afterAll(() => e.close())

const WRITE_PATHS: [string, string][] = [
  ['POST', '/crm/v3/objects/bookings'],
  ['PATCH', '/crm/v3/objects/bookings/30000000011'],
  ['POST', '/crm/v3/objects/bookings/search'],
  ['POST', '/crm/v3/objects/mock_exams/batch/read'],
  ['POST', '/crm/v3/objects/mock_exams/batch/create'],
  ['POST', '/crm/v3/objects/bookings/batch/update'],
  ['POST', '/crm/v3/objects/bookings/batch/upsert'],
  ['POST', '/crm/v3/objects/bookings/batch/archive'],
  ['PUT', '/crm/v4/objects/bookings/30000000011/associations/mock_exams/30000000010'],
  ['POST', '/crm/v4/associations/bookings/mock_exams/batch/read'],
  ['POST', '/crm/v4/associations/bookings/mock_exams/batch/create'],
  ['POST', '/crm/v4/associations/bookings/mock_exams/batch/associate/default'],
  ['POST', '/crm/v4/associations/bookings/mock_exams/batch/archive'],
]

async function send(
  method: string,
  path: string,
  body?: string | Uint8Array<ArrayBuffer>,
  contentType = 'application/json',
): Promise<{ status: number; json: unknown }> {
  const res = await fetch(e.url + path, {
    method,
    body,
    headers: { authorization: 'Bearer fuzz', 'content-type': contentType },
  })
  const text = await res.text()
  expect(res.headers.get('content-type'), `${method} ${path}`).toMatch(/^application\/json/)
  return { status: res.status, json: text ? JSON.parse(text) : undefined }
}

function expectHubSpotError(result: { status: number; json: unknown }, label: string): void {
  expect(result.status, label).toBeGreaterThanOrEqual(400)
  expect(result.status, label).toBeLessThan(500)
  const body = result.json as Record<string, unknown>
  expect(body.status, label).toBe('error')
  expect(typeof body.message, label).toBe('string')
  expect(typeof body.correlationId, label).toBe('string')
}

/** mulberry32, so a failure reproduces. */
function prng(seed: number): () => number {
  let a = seed
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = Math.imul(a ^ (a >>> 15), a | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296
  }
}

function randomValue(rand: () => number, depth = 0): unknown {
  const r = rand()
  if (depth > 3 || r < 0.15) return null
  if (r < 0.3) return Math.floor(rand() * 1e6) * (rand() < 0.5 ? -1 : 1)
  if (r < 0.4) return rand() < 0.5
  if (r < 0.6)
    return ['', 'x', 'EQ', 'booking_id', '30000000011', '1e309', '\u0000', '💥', 'a'.repeat(70_000)][
      Math.floor(rand() * 9)
    ]
  if (r < 0.8) return Array.from({ length: Math.floor(rand() * 4) }, () => randomValue(rand, depth + 1))
  const keys = [
    'inputs',
    'properties',
    'filterGroups',
    'filters',
    'sorts',
    'limit',
    'after',
    'id',
    'idProperty',
    'query',
    'operator',
    'propertyName',
    'value',
    'values',
    'to',
    'from',
    'types',
    'booking_id',
    'capacity',
    'exam_date',
  ]
  const obj: Record<string, unknown> = {}
  for (let i = Math.floor(rand() * 5); i > 0; i--)
    obj[keys[Math.floor(rand() * keys.length)]!] = randomValue(rand, depth + 1)
  return obj
}

describe('malformed input', () => {
  it('answers malformed JSON with a 400 VALIDATION_ERROR on every write route', async () => {
    for (const [method, path] of WRITE_PATHS) {
      for (const body of ['{', '{"properties":', 'nul', '[1,2', '{"a":1}}', '\u0000\u0001']) {
        const result = await send(method, path, body)
        expectHubSpotError(result, `${method} ${path} ${body}`)
        expect((result.json as { category: string }).category).toBe('VALIDATION_ERROR')
      }
    }
  })

  it('answers wrong types with a 4xx', async () => {
    const bodies = [
      '[]',
      '"text"',
      '42',
      'true',
      '{"properties":[]}',
      '{"properties":"x"}',
      '{"properties":{"capacity":{}}}',
      '{"inputs":"x"}',
      '{"inputs":[1,2]}',
      '{"inputs":[{"id":{}}]}',
      '{"filterGroups":{}}',
      '{"filterGroups":[{"filters":"x"}]}',
      '{"filterGroups":[{"filters":[{"propertyName":1,"operator":"EQ"}]}]}',
      '{"sorts":"x"}',
      '{"sorts":[1]}',
      '{"limit":"many"}',
      '{"limit":-1}',
      '{"after":"abc"}',
      '{"query":{}}',
      '{"properties":{"exam_date":"tomorrow"}}',
    ]
    for (const [method, path] of WRITE_PATHS) {
      for (const body of bodies) {
        const result = await send(method, path, body)
        if (result.status >= 400) expectHubSpotError(result, `${method} ${path} ${body}`)
        expect(result.status, `${method} ${path} ${body}`).toBeLessThan(500)
      }
    }
  })

  it('treats __proto__ and constructor as plain names', async () => {
    expect(
      (await send('GET', '/crm/v3/objects/bookings?__proto__=1&constructor=2&properties=constructor')).status,
    ).toBe(200)
    expectHubSpotError(
      await send('POST', '/crm/v3/objects/bookings', '{"properties":{"__proto__":{"x":1},"constructor":"y"}}'),
      'proto',
    )
    expect((await send('GET', '/crm/v3/objects/bookings/1?idProperty=__proto__')).status).toBe(400)
    const sorted = await send(
      'POST',
      '/crm/v3/objects/bookings/search',
      '{"sorts":["constructor"],"filterGroups":[{"filters":[{"propertyName":"__proto__","operator":"HAS_PROPERTY"}]}]}',
    )
    expect(sorted.status).toBe(200)
  })

  it('refuses a body over 10 MB with a 413 JSON answer', async () => {
    const huge = JSON.stringify({ properties: { booking_id: 'x'.repeat(11 * 1024 * 1024) } })
    const result = await send('POST', '/crm/v3/objects/bookings', huge)
    expect(result.status).toBe(413)
    expectHubSpotError({ ...result, status: 499 }, 'huge')
  })

  it('refuses a non-JSON content type with a 415', async () => {
    expect(
      (await send('POST', '/crm/v3/objects/bookings', 'booking_id=1', 'application/x-www-form-urlencoded')).status,
    ).toBe(415)
  })

  it('survives random garbage: bytes, structures, paths and methods', async () => {
    const rand = prng(1234)
    const methods = ['GET', 'POST', 'PATCH', 'PUT', 'DELETE']
    const segments = [
      'crm',
      'v3',
      'v4',
      'objects',
      'bookings',
      'mock_exams',
      'contacts',
      'batch',
      'read',
      'search',
      '%E0%A4%A',
      '..',
      '30000000011',
      'associations',
      'default',
      '%00',
    ]
    for (let i = 0; i < 400; i++) {
      const [method, path] =
        rand() < 0.6
          ? WRITE_PATHS[Math.floor(rand() * WRITE_PATHS.length)]!
          : [
              methods[Math.floor(rand() * methods.length)]!,
              '/' +
                Array.from(
                  { length: 1 + Math.floor(rand() * 7) },
                  () => segments[Math.floor(rand() * segments.length)],
                ).join('/') +
                (rand() < 0.3 ? '?limit=%ZZ&properties=a,,b&archived=maybe' : ''),
            ]
      const body =
        method === 'GET' || method === 'DELETE'
          ? undefined
          : rand() < 0.2
            ? Uint8Array.from({ length: Math.floor(rand() * 200) }, () => Math.floor(rand() * 256))
            : JSON.stringify(randomValue(rand))
      const result = await send(method, path, body)
      expect(result.status, `${method} ${path}`).toBeLessThan(500)
    }
    const stats = e.stats()
    expect(Object.keys(stats.byStatus).filter((s) => Number(s) >= 500)).toEqual([])
    expect((await send('GET', '/crm/v3/objects/bookings?limit=1')).status).toBe(200)
  })
})

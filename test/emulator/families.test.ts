// The emulator's two path families, legacy v3 and date-versioned 2026-03: one store, one set of limits, counted apart.
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { startEmulator, type RunningEmulator } from '../../src/emulator/index.js'
import { answerOf } from '../support/hubspot-direct.js'

let e: RunningEmulator
beforeAll(async () => {
  e = await startEmulator({ seed: 'none', rateLimit10s: 40 })
})
afterAll(() => e.close())
beforeEach(() => e.reset())

const call = (method: string, path: string, body?: unknown) => answerOf(e, method, path, body)

const V3 = '/crm/v3/objects'
const DATED = '/crm/objects/2026-03'

describe('both path families', () => {
  it('serve objects over one store: written in one family, read, listed, searched and archived in the other', async () => {
    const created = await call('POST', `${DATED}/mock_exams`, { properties: { mock_exam_name: 'Both', capacity: '4' } })
    expect(created.status).toBe(201)
    const id = created.body.id
    expect((await call('GET', `${V3}/mock_exams/${id}?properties=mock_exam_name`)).body.properties.mock_exam_name).toBe(
      'Both',
    )
    expect((await call('PATCH', `${V3}/mock_exams/${id}`, { properties: { capacity: '5' } })).status).toBe(200)
    expect((await call('GET', `${DATED}/mock_exams/${id}?properties=capacity`)).body.properties.capacity).toBe('5')
    const listed = await call('GET', `${DATED}/mock_exams?limit=10&properties=capacity`)
    expect(listed.body.results.map((r: { id: string }) => r.id)).toEqual([id])
    const found = await call('POST', `${DATED}/mock_exams/search`, {
      filterGroups: [{ filters: [{ propertyName: 'capacity', operator: 'EQ', value: '5' }] }],
    })
    expect(found.body.total).toBe(1)
    const read = await call('POST', `${DATED}/mock_exams/batch/read`, { inputs: [{ id }], properties: ['capacity'] })
    expect(read.body.results[0].properties.capacity).toBe('5')
    expect((await call('DELETE', `${DATED}/mock_exams/${id}`)).status).toBe(204)
    expect((await call('GET', `${V3}/mock_exams/${id}`)).status).toBe(404)
  })

  it('answer batch upsert with the `new` flag in both, and take 2026-03 idProperty from the query', async () => {
    const first = await call('POST', `${DATED}/bookings/batch/upsert?idProperty=booking_id`, {
      inputs: [{ id: 'UP-1', properties: { student_name: 'A' }, objectWriteTraceId: 'trace-1' }],
    })
    expect(first.status).toBe(200)
    expect(first.body.results[0]).toMatchObject({ new: true, objectWriteTraceId: 'trace-1' })
    const again = await call('POST', `${V3}/bookings/batch/upsert`, {
      inputs: [{ id: 'UP-1', idProperty: 'booking_id', properties: { student_name: 'B' } }],
    })
    expect(again.body.results[0]).toMatchObject({ new: false, id: first.body.results[0].id })
    // v3 has no query form: each input must name its unique property.
    const legacy = await call('POST', `${V3}/bookings/batch/upsert?idProperty=booking_id`, {
      inputs: [{ id: 'UP-2', properties: {} }],
    })
    expect(legacy.status).toBe(400)
    expect(legacy.body.category).toBe('VALIDATION_ERROR')
  })

  it('serve schemas and properties at both addresses', async () => {
    const legacy = await call('GET', '/crm/v3/schemas')
    const dated = await call('GET', '/crm-object-schemas/2026-03/schemas')
    expect(dated.status).toBe(200)
    expect(dated.body.results.map((s: { objectTypeId: string }) => s.objectTypeId)).toEqual(
      legacy.body.results.map((s: { objectTypeId: string }) => s.objectTypeId),
    )
    expect((await call('GET', '/crm-object-schemas/2026-03/schemas/p_bookings')).body.objectTypeId).toBe('2-50002')
    const props = await call('GET', '/crm/properties/2026-03/bookings')
    expect(props.body.results.some((p: { name: string }) => p.name === 'dominant_hand')).toBe(true)
  })

  it('serve associations at both addresses; 2026-03 reads give toObjectId as a string', async () => {
    const exam = (await call('POST', `${V3}/mock_exams`, { properties: { mock_exam_name: 'X' } })).body.id
    const booking = (await call('POST', `${V3}/bookings`, { properties: { booking_id: 'AS-1' } })).body.id
    const put = await call('PUT', `${DATED}/bookings/${booking}/associations/default/mock_exams/${exam}`)
    expect(put.status).toBe(200)
    const legacy = await call('GET', `/crm/v4/objects/bookings/${booking}/associations/mock_exams`)
    expect(legacy.body.results[0].toObjectId).toBe(Number(exam))
    const dated = await call('GET', `${DATED}/bookings/${booking}/associations/mock_exams`)
    expect(dated.body.results[0].toObjectId).toBe(exam)
    const batch = await call('POST', '/crm/associations/2026-03/mock_exams/bookings/batch/read', {
      inputs: [{ id: exam }],
    })
    expect(batch.body.results[0].to[0].toObjectId).toBe(booking)
    expect((await call('DELETE', `${DATED}/bookings/${booking}/associations/mock_exams/${exam}`)).status).toBe(204)
    expect((await call('GET', `/crm/v4/objects/bookings/${booking}/associations/mock_exams`)).body.results).toEqual([])
  })

  it('share one burst window and one error body, and count each family in the stats', async () => {
    for (let i = 0; i < 20; i++) expect((await call('GET', `${V3}/bookings?limit=1`)).status).toBe(200)
    for (let i = 0; i < 20; i++) expect((await call('GET', `${DATED}/bookings?limit=1`)).status).toBe(200)
    const refused = await call('GET', `${DATED}/bookings?limit=1`)
    expect(refused.status).toBe(429)
    expect(refused.body).toMatchObject({ policyName: 'TEN_SECONDLY_ROLLING', errorType: 'RATE_LIMIT' })
    const bad = [await call('GET', `${V3}/nope/1`), await call('GET', `${DATED}/nope/1`)]
    expect(bad.map((r) => r.status)).toEqual([429, 429])
    const stats = e.stats()
    expect(stats.byFamily).toEqual({ v3: 21, '2026-03': 22 })
    expect(stats.byRoute['GET /crm/objects/2026-03/:type']).toBe(21)
  })
})

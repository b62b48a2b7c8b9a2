// The emulator's write-validation rules: set at start (--require) or over /_emulator/validation, refusing creates as HubSpot does.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { parseRequirement, startEmulator, type RunningEmulator } from '../../src/emulator/index.js'
import { answerOf } from '../support/hubspot-direct.js'

let e: RunningEmulator
beforeAll(async () => {
  e = await startEmulator({ seed: 'none', require: ['bookings.dominant_hand'] })
})
afterAll(() => e.close())

const call = (method: string, path: string, body?: unknown) => answerOf(e, method, path, body)

describe('write validation', () => {
  it('refuses a create without the required property, in both families and every create route, writing nothing', async () => {
    for (const base of ['/crm/v3/objects', '/crm/objects/2026-03']) {
      const single = await call('POST', `${base}/bookings`, { properties: { booking_id: 'V-1' } })
      expect(single.status).toBe(400)
      expect(single.body).toMatchObject({ status: 'error', category: 'VALIDATION_ERROR' })
      expect(single.body.message).toContain('dominant_hand')
      expect(single.body.errors).toEqual([
        {
          message: 'dominant_hand is required',
          code: 'REQUIRED_PROPERTY',
          context: { propertyName: ['dominant_hand'] },
        },
      ])
      const batch = await call('POST', `${base}/bookings/batch/create`, {
        inputs: [{ properties: { booking_id: 'V-2', dominant_hand: 'left' } }, { properties: { booking_id: 'V-3' } }],
      })
      expect(batch.status).toBe(400)
      const upsert = await call('POST', `${base}/bookings/batch/upsert`, {
        inputs: [{ id: 'V-4', idProperty: 'booking_id', properties: {} }],
      })
      expect(upsert.status).toBe(400)
    }
    expect((await call('POST', '/crm/v3/objects/bookings/search', {})).body.total).toBe(0)
    // Other object types and creates that carry the property are untouched.
    expect((await call('POST', '/crm/v3/objects/mock_exams', { properties: { mock_exam_name: 'x' } })).status).toBe(201)
    const ok = await call('POST', '/crm/v3/objects/bookings', {
      properties: { booking_id: 'V-5', dominant_hand: 'right' },
    })
    expect(ok.status).toBe(201)
    // Updating an existing record is not a create: the rule does not apply.
    const update = await call('POST', '/crm/v3/objects/bookings/batch/upsert', {
      inputs: [{ id: 'V-5', idProperty: 'booking_id', properties: { student_name: 'Y' } }],
    })
    expect(update.status).toBe(200)
  })

  it('takes rules over /_emulator/validation, rejects bad ones by name, and reset restores the start-up rules', async () => {
    const admin = async (method: string, body?: unknown) => {
      const res = await fetch(`${e.url}/_emulator/validation`, {
        method,
        headers: { 'content-type': 'application/json' },
        body: body === undefined ? undefined : JSON.stringify(body),
      })
      return { status: res.status, body: await res.json() }
    }
    expect((await admin('DELETE')).body).toEqual({ required: {} })
    expect((await call('POST', '/crm/v3/objects/bookings', { properties: { booking_id: 'V-6' } })).status).toBe(201)
    expect((await admin('POST', { objectType: 'p_mock_exams', required: ['location'] })).body).toEqual({
      required: { mock_exams: ['location'] },
    })
    expect((await call('POST', '/crm/v3/objects/mock_exams', { properties: { mock_exam_name: 'y' } })).status).toBe(400)
    const unknown = await admin('POST', { objectType: 'bookings', required: ['no_such_property'] })
    expect(unknown.status).toBe(400)
    expect(unknown.body.message).toContain('no_such_property')
    expect((await admin('POST', { objectType: 'bookings', required: [] })).status).toBe(400)
    expect((await admin('POST', { objectType: 'nothing', required: ['x'] })).status).toBe(400)
    expect((await admin('GET')).body).toEqual({ required: { mock_exams: ['location'] } })
    e.reset()
    expect((await admin('GET')).body).toEqual({ required: { bookings: ['dominant_hand'] } })
  })

  it('parses --require as objectType.property', () => {
    expect(parseRequirement('bookings.dominant_hand')).toEqual({ objectType: 'bookings', property: 'dominant_hand' })
    expect(() => parseRequirement('dominant_hand')).toThrow(/objectType\.property/)
  })
})

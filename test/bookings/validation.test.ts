// HubSpot's write validation told plainly: a required property missing → 422 naming it, nothing in the replica, no intent left pending.
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { countersSettled } from '../support/counters.js'
import { startTestApp, type TestApp } from '../support/fixtures.js'

describe('HubSpot write validation', () => {
  let t: TestApp
  let examId: string
  beforeAll(async () => {
    t = await startTestApp({ emulator: true })
    const exam = await t.api('POST', '/api/mock-exams', {
      mock_exam_name: 'Validation — Halifax',
      mock_type: 'Mini-mock',
      exam_date: '2026-12-19',
      start_time: '09:00',
      end_time: '11:00',
      location: 'Halifax',
      capacity: 50,
    })
    expect(exam.statusCode, exam.body).toBe(201)
    examId = exam.json().exam.hubspot_id
  })
  afterAll(() => t.close())
  beforeEach(() => emulatorAdmin('DELETE', '/_emulator/validation'))

  const emulatorAdmin = async (method: string, path: string, body?: unknown) => {
    const response = await fetch(`${t.emulator!.url}${path}`, {
      method,
      headers: { 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    })
    expect(response.status).toBe(200)
    return response.json()
  }
  const book = (name: string, extra: Record<string, unknown> = {}) =>
    t.api('POST', '/api/bookings', { examId, student_name: name, student_email: `${name}@example.com`, ...extra })
  const replicaBookings = async (name: string) =>
    Number(
      (
        await t.app.db.query<{ n: string }>(
          'SELECT count(*)::text AS n FROM public.hubspot_bookings WHERE student_name = $1',
          [name],
        )
      ).rows[0].n,
    )
  /** Pending write intents, once the exam counter pushes owed by answered creates (each journaled) have landed. */
  const pendingIntents = async () => {
    await countersSettled(t.app)
    return Number(
      (
        await t.app.db.query<{ n: string }>(
          `SELECT count(*)::text AS n FROM hubmirror.write_intents WHERE status = 'pending'`,
        )
      ).rows[0].n,
    )
  }

  it('answers 422 E_HUBSPOT_VALIDATION naming the property; the replica is unchanged and the intent closed', async () => {
    expect(
      await emulatorAdmin('POST', '/_emulator/validation', { objectType: 'bookings', required: ['dominant_hand'] }),
    ).toEqual({ required: { bookings: ['dominant_hand'] } })
    const refused = await book('Refused')
    expect(refused.statusCode, refused.body).toBe(422)
    const { error } = refused.json()
    expect(error.code).toBe('E_HUBSPOT_VALIDATION')
    expect(error.message).toContain('dominant_hand')
    expect(error.field).toBe('dominant_hand')
    expect(refused.body).not.toMatch(/stack|at .*\.ts/)
    expect(await replicaBookings('Refused')).toBe(0)
    expect(await pendingIntents()).toBe(0)
    const { rows } = await t.app.db.query<{ status: string }>(
      `SELECT status FROM hubmirror.write_intents WHERE kind = 'booking.create' AND payload->>'student_name' = 'Refused'`,
    )
    expect(rows.map((r) => r.status)).toEqual(['failed'])
    // The same booking with the property passes the rule.
    const accepted = await book('Accepted', { dominant_hand: 'left' })
    expect(accepted.statusCode, accepted.body).toBe(201)
  })

  it('refuses only the offending booking when it shared a HubSpot batch with valid ones', async () => {
    await emulatorAdmin('POST', '/_emulator/validation', { objectType: 'bookings', required: ['dominant_hand'] })
    const names = ['Batch-A', 'Batch-B', 'Batch-C', 'Batch-D', 'Batch-E']
    const answers = await Promise.all(
      names.map((name, i) => book(name, i === 2 ? {} : { dominant_hand: i % 2 ? 'left' : 'right' })),
    )
    expect(answers.map((a) => a.statusCode)).toEqual([201, 201, 422, 201, 201])
    expect(await replicaBookings('Batch-C')).toBe(0)
    expect(await replicaBookings('Batch-D')).toBe(1)
    expect(await pendingIntents()).toBe(0)
  })

  it('creates the booking (201) once the rule is cleared', async () => {
    await emulatorAdmin('POST', '/_emulator/validation', { objectType: 'bookings', required: ['dominant_hand'] })
    expect((await book('Before-clear')).statusCode).toBe(422)
    expect(await emulatorAdmin('DELETE', '/_emulator/validation')).toEqual({ required: {} })
    const created = await book('After-clear')
    expect(created.statusCode, created.body).toBe(201)
    expect(await replicaBookings('After-clear')).toBe(1)
  })
})

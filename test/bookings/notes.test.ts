// A booking's free-text notes end to end: the API takes them on create, HubSpot and the replica keep them,
// reads and the CSV export give them back; notes over the limit are refused naming the field.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { BOOKINGS_OBJECT_TYPE_ID } from '../../src/emulator/index.js'
import { parseCsv } from '../support/csv-parse.js'
import { startTestApp, type TestApp } from '../support/fixtures.js'
import { hubspot } from '../support/hubspot-direct.js'
import { expectReplicaMatches } from '../support/replica-check.js'

const NOTES = 'Needs a left-handed desk, near the door; "arrives late" — 10 min.\nSecond line.'

describe('booking notes', () => {
  let t: TestApp
  let examId: string
  beforeAll(async () => {
    t = await startTestApp({ emulator: true })
    const exam = await t.api('POST', '/api/mock-exams', {
      mock_exam_name: 'Notes — Kingston',
      mock_type: 'Mini-mock',
      exam_date: '2026-12-21',
      start_time: '09:00',
      end_time: '11:00',
      location: 'Kingston',
      capacity: 20,
    })
    expect(exam.statusCode, exam.body).toBe(201)
    examId = exam.json().exam.hubspot_id
  })
  afterAll(() => t?.close())

  const book = (name: string, extra: Record<string, unknown>) =>
    t.api('POST', '/api/bookings', { examId, student_name: name, student_email: `${name}@example.com`, ...extra })

  it('are stored in HubSpot and the replica, and returned by the create, the list and the CSV', async () => {
    const created = await book('Noted', { notes: NOTES })
    expect(created.statusCode, created.body).toBe(201)
    const booking = created.json().booking
    expect(booking.notes).toBe(NOTES)

    const inHubSpot = await hubspot<{ properties: Record<string, string> }>(
      t.emulator!,
      'GET',
      `/crm/v3/objects/${BOOKINGS_OBJECT_TYPE_ID}/${booking.hubspot_id}?properties=notes`,
    )
    expect(inHubSpot.properties.notes).toBe(NOTES)

    const { rows } = await t.app.db.query<{ notes: string | null }>(
      'SELECT notes FROM public.hubspot_bookings WHERE hubspot_id = $1',
      [booking.hubspot_id],
    )
    expect(rows).toEqual([{ notes: NOTES }])

    const list = await t.api('GET', `/api/mock-exams/${examId}/bookings`)
    expect(list.statusCode, list.body).toBe(200)
    const listed = list.json().bookings.find((b: { hubspot_id: string }) => b.hubspot_id === booking.hubspot_id)
    expect(listed.notes).toBe(NOTES)

    const csv = parseCsv((await t.api('GET', `/api/mock-exams/${examId}/bookings.csv`)).body.replace(/^\uFEFF/, ''))
    const column = csv[0]!.indexOf('notes')
    expect(column).toBeGreaterThan(0)
    expect(csv.find((row) => row[0] === booking.hubspot_id)![column]).toBe(NOTES)

    // A booking without notes reads as null, and every replica row still mirrors HubSpot field by field.
    const plain = await book('Unnoted', {})
    expect(plain.statusCode, plain.body).toBe(201)
    expect(plain.json().booking.notes).toBeNull()
    await expectReplicaMatches(t.app.db, t.emulator!)
  })

  it('over 2000 characters answer 400 naming the field, and nothing is booked', async () => {
    const refused = await book('Verbose', { notes: 'x'.repeat(2001) })
    expect(refused.statusCode, refused.body).toBe(400)
    expect(refused.json().error).toMatchObject({ code: 'E_VALIDATION', field: 'notes' })
    expect(refused.json().error.message).toContain('2000')
    const { rows } = await t.app.db.query(`SELECT 1 FROM public.hubspot_bookings WHERE student_name = 'Verbose'`)
    expect(rows).toEqual([])
    // Exactly at the limit is fine.
    expect((await book('AtLimit', { notes: 'y'.repeat(2000) })).statusCode).toBe(201)
  })
})

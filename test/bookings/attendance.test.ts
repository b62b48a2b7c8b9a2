// Attendance writes, field-level change events and record history, end to end against the HubSpot emulator.
import { describe, expect, it } from 'vitest'
import { issueToken } from '../../src/http/jwt.js'
import { emulatorAppPerSuite } from '../support/fixtures.js'
import { countersSettled } from '../support/counters.js'
import { hubspot } from '../support/hubspot-direct.js'

describe('attendance and history', () => {
  const t = emulatorAppPerSuite()

  const writesSeen = () =>
    Object.entries(t.emulator!.stats().byRoute)
      .filter(([route]) => !route.startsWith('GET') && !route.endsWith('/search') && !route.includes('batch/read'))
      .reduce((sum, [, n]) => sum + (n as number), 0)
  const hubspotBooking = (id: string) =>
    hubspot<{ properties: Record<string, string | null> }>(
      t.emulator!,
      'GET',
      `/crm/v3/objects/bookings/${id}?properties=attendance,attending_location,booking_status`,
    )
  let n = 0
  const newExam = async () => {
    const response = await t.api('POST', '/api/mock-exams', {
      mock_exam_name: 'Mini-mock — Halifax',
      mock_type: 'Mini-mock',
      exam_date: '2026-12-18',
      start_time: '09:00',
      end_time: '11:00',
      location: 'Halifax',
      capacity: 20,
    })
    expect(response.statusCode, response.body).toBe(201)
    return response.json().exam.hubspot_id as string
  }
  const book = async (examId: string) => {
    const response = await t.api('POST', '/api/bookings', {
      examId,
      student_name: `Student ${++n}`,
      student_email: `attendee${n}@example.com`,
    })
    expect(response.statusCode, response.body).toBe(201)
    // Its exam counter push follows the answer: landed before a test counts HubSpot writes.
    await countersSettled(t.app)
    return response.json().booking.hubspot_id as string
  }

  it('[I10] PATCH marks attendance in HubSpot first (its "Yes"/"No"), then the replica; a repeat changes nothing', async () => {
    const examId = await newExam()
    const id = await book(examId)
    const marked = await t.api('PATCH', `/api/bookings/${id}`, { attendance: 'attended', attending_location: 'Room 2' })
    expect(marked.statusCode, marked.body).toBe(200)
    expect(marked.json()).toMatchObject({
      changed: true,
      booking: { hubspot_id: id, attendance: 'attended', attending_location: 'Room 2' },
    })
    expect((await hubspotBooking(id)).properties).toMatchObject({ attendance: 'Yes', attending_location: 'Room 2' })
    const listed = (await t.api('GET', `/api/mock-exams/${examId}/bookings`)).json().bookings
    expect(listed.find((b: { hubspot_id: string }) => b.hubspot_id === id).attendance).toBe('attended')

    const before = writesSeen()
    const again = await t.api('PATCH', `/api/bookings/${id}`, { attendance: 'attended' })
    expect(again.statusCode, again.body).toBe(200)
    expect(again.json()).toMatchObject({ changed: false, booking: { attendance: 'attended' } })
    expect(writesSeen()).toBe(before)

    const unset = await t.api('PATCH', `/api/bookings/${id}`, { attendance: null })
    expect(unset.json().booking.attendance).toBeNull()
    expect((await hubspotBooking(id)).properties.attendance).toBeNull()
    const noShow = await t.api('PATCH', `/api/bookings/${id}`, { attendance: 'no_show' })
    expect(noShow.json().booking.attendance).toBe('no_show')
    expect((await hubspotBooking(id)).properties.attendance).toBe('No')
  })

  it('[I10] refuses attendance on a cancelled booking with 409 E_BOOKING_CANCELLED, and HubSpot is untouched', async () => {
    const examId = await newExam()
    const id = await book(examId)
    expect((await t.api('POST', `/api/bookings/${id}/cancel`)).statusCode).toBe(200)
    const before = writesSeen()
    const refused = await t.api('PATCH', `/api/bookings/${id}`, { attendance: 'attended' })
    expect(refused.statusCode, refused.body).toBe(409)
    expect(refused.json().error).toMatchObject({ code: 'E_BOOKING_CANCELLED', field: 'id' })
    expect(writesSeen()).toBe(before)
    expect((await hubspotBooking(id)).properties.attendance).toBeNull()
  })

  it('answers 400 naming the field for bad input, 404 for an unknown booking, 403 without bookings.edit', async () => {
    const examId = await newExam()
    const id = await book(examId)
    const before = writesSeen()
    const cases: Array<[unknown, string]> = [
      [{ attendance: 'present' }, 'attendance'],
      [{ attendance: 1 }, 'attendance'],
      [{}, 'attendance'],
      [{ attending_location: '' }, 'attending_location'],
      [{ attendance: 'attended', booking_status: 'cancelled' }, 'body'],
    ]
    for (const [body, field] of cases) {
      const response = await t.api('PATCH', `/api/bookings/${id}`, body)
      expect(response.statusCode, `${JSON.stringify(body)}: ${response.body}`).toBe(400)
      expect(response.json().error).toMatchObject({ code: 'E_VALIDATION', field })
      expect(response.json().error.message.startsWith(field)).toBe(true)
    }
    const batchCases: Array<[unknown, string]> = [
      [{ updates: [] }, 'updates'],
      [
        {
          updates: [
            { id, attendance: 'attended' },
            { id, attendance: 'no_show' },
          ],
        },
        'updates.1.id',
      ],
      [{ updates: [{ id, attendance: 'late' }] }, 'updates.0.attendance'],
      [{ updates: [{ id: 'abc', attendance: 'attended' }] }, 'updates.0.id'],
    ]
    for (const [body, field] of batchCases) {
      const response = await t.api('POST', '/api/bookings/batch-attendance', body)
      expect(response.statusCode, `${JSON.stringify(body)}: ${response.body}`).toBe(400)
      expect(response.json().error).toMatchObject({ code: 'E_VALIDATION', field })
    }
    expect(writesSeen()).toBe(before)
    const unknown = await t.api('PATCH', '/api/bookings/999999991', { attendance: 'attended' })
    expect(unknown.statusCode).toBe(404)
    expect(unknown.json().error.code).toBe('E_BOOKING_NOT_FOUND')
    const viewer = issueToken(t.app.config.jwtSecret, ['exams.view'], { subject: 'viewer' })
    const forbidden = await t.api('PATCH', `/api/bookings/${id}`, { attendance: 'attended' }, {}, viewer)
    expect(forbidden.statusCode).toBe(403)
    expect(writesSeen()).toBe(before)
  })

  it('[I5] batch-attendance answers per id: updated, unchanged, cancelled, not found', async () => {
    const examId = await newExam()
    const [a, b, c] = [await book(examId), await book(examId), await book(examId)]
    await t.api('PATCH', `/api/bookings/${b}`, { attendance: 'attended' })
    await t.api('POST', `/api/bookings/${c}/cancel`)
    const batch = await t.api('POST', '/api/bookings/batch-attendance', {
      updates: [
        { id: a, attendance: 'attended' },
        { id: b, attendance: 'attended' },
        { id: c, attendance: 'attended' },
        { id: '999999992', attendance: 'no_show' },
      ],
    })
    expect(batch.statusCode, batch.body).toBe(200)
    expect(batch.json()).toMatchObject({ success: true, updated: 1, unchanged: 1, failed: 2 })
    expect(batch.json().results.map((r: { id: string; outcome: string }) => [r.id, r.outcome])).toEqual([
      [a, 'updated'],
      [b, 'unchanged'],
      [c, 'E_BOOKING_CANCELLED'],
      ['999999992', 'E_BOOKING_NOT_FOUND'],
    ])
    expect(batch.json().results[0].booking.attendance).toBe('attended')
    expect((await hubspotBooking(a)).properties.attendance).toBe('Yes')
  })

  it('change events carry the changed fields and who changed them, on the log and the history', async () => {
    // The app's first pull is its backfill: done first, so that the one below is incremental.
    expect((await t.api('POST', '/api/sync/pull', {})).statusCode).toBeLessThan(300)
    const examId = await newExam()
    const id = await book(examId)
    const seq = (await t.api('GET', `/api/mock-exams/${examId}/bookings`)).headers['x-replica-seq'] as string
    const alice = issueToken(t.app.config.jwtSecret, ['exams.view', 'bookings.edit'], { subject: 'alice@school' })
    expect((await t.api('PATCH', `/api/bookings/${id}`, { attendance: 'attended' }, {}, alice)).statusCode).toBe(200)
    const poll = await t.api('GET', `/api/long-poll?after=${seq}&exam_ids=${examId}&timeout_ms=0`)
    const events = poll.json().events as Array<Record<string, any>>
    const mine = events.filter((e) => e.hubspot_id === id)
    expect(mine).toHaveLength(1)
    expect(mine[0]).toMatchObject({
      changes: { attendance: [null, 'attended'] },
      origin: { kind: 'hubmirror', subject: 'alice@school' },
    })

    // A change made in HubSpot's screens by user 4242: a pull finds it, the old value from the
    // replica, and who from HubSpot's property history (one batch read for the one changed row).
    await new Promise((resolve) => setTimeout(resolve, 5))
    await hubspot(
      t.emulator!,
      'PATCH',
      `/crm/v3/objects/bookings/${id}`,
      { properties: { attending_location: 'Annex' } },
      'user-4242',
    )
    // Counted on whichever API family this run speaks (CI runs both).
    const batchRead =
      t.app.config.hubspot.apiVersion === 'v3'
        ? 'POST /crm/v3/objects/:type/batch/read'
        : 'POST /crm/objects/2026-03/:type/batch/read'
    const historyReads = () => t.emulator!.stats().byRoute[batchRead] ?? 0
    const readsBefore = historyReads()
    expect((await t.api('POST', '/api/sync/pull', { types: ['bookings'] })).statusCode).toBeLessThan(300)
    expect(historyReads() - readsBefore).toBe(1)
    // Nothing changed since: the next pull reads no history.
    expect((await t.api('POST', '/api/sync/pull', { types: ['bookings'] })).statusCode).toBeLessThan(300)
    expect(historyReads() - readsBefore).toBe(1)

    const history = await t.api('GET', `/api/bookings/${id}/history?limit=2`)
    expect(history.statusCode, history.body).toBe(200)
    const page = history.json()
    expect(page.history).toHaveLength(2)
    expect(page.history[0]).toMatchObject({
      kind: 'booking',
      source: 'sync',
      changes: { attending_location: ['Halifax', 'Annex'] },
      origin: { kind: 'hubspot', source: 'CRM_UI', user_id: '4242' },
    })
    expect(page.history[1]).toMatchObject({
      source: 'write',
      changes: { attendance: [null, 'attended'] },
      origin: { kind: 'hubmirror', subject: 'alice@school' },
    })
    expect(BigInt(page.history[0].seq)).toBeGreaterThan(BigInt(page.history[1].seq))
    expect(page.next_cursor).toBe(page.history[1].seq)
    const older = (await t.api('GET', `/api/bookings/${id}/history?limit=2&cursor=${page.next_cursor}`)).json()
    expect(older.history).toHaveLength(1)
    expect(older.history[0]).toMatchObject({ op: 'upsert', changes: { booking_status: [null, 'confirmed'] } })
    expect(older.next_cursor).toBeNull()
  })

  it('keeps history after the change log is pruned; 404 for an unknown record; 400 naming limit', async () => {
    const examId = await newExam()
    const id = await book(examId)
    await t.app.db.query('DELETE FROM hubmirror.replica_events')
    const kept = await t.api('GET', `/api/bookings/${id}/history`)
    expect(kept.json().history.length).toBeGreaterThan(0)
    const exam = await t.api('GET', `/api/mock-exams/${examId}/history`)
    expect(exam.statusCode).toBe(200)
    expect(exam.json().history.at(-1)).toMatchObject({ kind: 'exam', changes: { location: [null, 'Halifax'] } })
    for (const path of ['/api/bookings/999999993/history', '/api/mock-exams/999999994/history']) {
      const missing = await t.api('GET', path)
      expect(missing.statusCode, path).toBe(404)
    }
    const bad = await t.api('GET', `/api/bookings/${id}/history?limit=0`)
    expect(bad.statusCode).toBe(400)
    expect(bad.json().error.field).toBe('limit')
    const badCursor = await t.api('GET', `/api/bookings/${id}/history?cursor=x`)
    expect(badCursor.json().error.field).toBe('cursor')
  })
})

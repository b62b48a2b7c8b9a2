// The write path end to end against the HubSpot emulator: every endpoint, bad input, overbooking, faults.
import { describe, expect, it } from 'vitest'
import { emulatorAppPerSuite } from '../support/fixtures.js'
import { bookingsOfExam, hubspot } from '../support/hubspot-direct.js'
import { countersSettled } from '../support/counters.js'

describe('write path', () => {
  const t = emulatorAppPerSuite()

  const hubspotGet = (path: string) => hubspot<{ properties: Record<string, string> }>(t.emulator!, 'GET', path)
  /** The exam's seat count as HubSpot holds it (a string, as HubSpot sends properties). */
  const hubspotTotal = async (examId: string) =>
    (await hubspotGet(`/crm/v3/objects/mock_exams/${examId}?properties=total_bookings`)).properties.total_bookings
  const hubspotBookingsOf = (examId: string) => bookingsOfExam(t.emulator!, examId, ['booking_status', 'booking_id'])
  const writesSeen = () =>
    Object.entries(t.emulator!.stats().byRoute)
      .filter(([route]) => !route.startsWith('GET'))
      .reduce((sum, [, n]) => sum + (n as number), 0)
  const newExam = async (overrides: Record<string, unknown> = {}) => {
    const response = await t.api('POST', '/api/mock-exams', {
      mock_exam_name: 'Mini-mock — Calgary',
      mock_type: 'Mini-mock',
      exam_date: '2026-12-12',
      start_time: '09:00',
      end_time: '11:30',
      location: 'Calgary',
      capacity: 5,
      ...overrides,
    })
    expect(response.statusCode, response.body).toBe(201)
    return response.json().exam as { hubspot_id: string; total_bookings: number; capacity: number }
  }
  const book = (examId: string, extra: Record<string, unknown> = {}) =>
    t.api('POST', '/api/bookings', { examId, student_name: 'Ada Lovelace', student_email: 'ada@example.com', ...extra })

  it('creates an exam in HubSpot, then the replica, readable at once', async () => {
    const exam = await newExam()
    const inHubSpot = await hubspotGet(
      `/crm/v3/objects/mock_exams/${exam.hubspot_id}?properties=mock_exam_name,capacity,is_active`,
    )
    expect(inHubSpot.properties).toMatchObject({
      mock_exam_name: 'Mini-mock — Calgary',
      capacity: '5',
      is_active: 'true',
    })
    const read = await t.api('GET', `/api/mock-exams/${exam.hubspot_id}`)
    expect(read.json().exam).toMatchObject({ capacity: 5, location: 'Calgary', total_bookings: 0 })
  })

  it('updates, deactivates and archives an exam', async () => {
    const exam = await newExam()
    expect(
      (await t.api('PATCH', `/api/mock-exams/${exam.hubspot_id}`, { location: 'Vancouver', capacity: 8 })).json().exam,
    ).toMatchObject({ location: 'Vancouver', capacity: 8 })
    expect((await t.api('GET', `/api/mock-exams/${exam.hubspot_id}`)).json().exam.location).toBe('Vancouver')
    expect(
      (await t.api('POST', `/api/mock-exams/${exam.hubspot_id}/activate`, { is_active: false })).json().exam.is_active,
    ).toBe('false')
    expect((await book(exam.hubspot_id)).json().error.code).toBe('E_EXAM_INACTIVE')
    expect((await t.api('DELETE', `/api/mock-exams/${exam.hubspot_id}`)).json()).toEqual({
      success: true,
      archived: true,
    })
    expect((await t.api('GET', `/api/mock-exams/${exam.hubspot_id}`)).statusCode).toBe(404)
    expect((await t.api('DELETE', `/api/mock-exams/${exam.hubspot_id}`)).statusCode).toBe(404)
    const archived = await fetch(`${t.emulator!.url}/crm/v3/objects/mock_exams/${exam.hubspot_id}`, {
      headers: { authorization: 'Bearer x' },
    })
    expect(archived.status).toBe(404)
  })

  it('books a seat, keeps total_bookings right on both sides, and replays an idempotent retry', async () => {
    const exam = await newExam()
    const first = await book(exam.hubspot_id, { booking_id: 'retry-key-0001' })
    expect(first.statusCode).toBe(201)
    const booking = first.json().booking
    expect(booking).toMatchObject({
      mock_exam_id: exam.hubspot_id,
      booking_status: 'confirmed',
      student_email: 'ada@example.com',
      booking_id: 'retry-key-0001',
    })
    const again = await book(exam.hubspot_id, { booking_id: 'retry-key-0001' })
    expect(again.statusCode).toBe(200)
    expect(again.json()).toMatchObject({ replayed: true, booking: { hubspot_id: booking.hubspot_id } })
    expect(await hubspotBookingsOf(exam.hubspot_id)).toHaveLength(1)
    await countersSettled(t.app)
    expect(await hubspotTotal(exam.hubspot_id)).toBe('1')
    expect((await t.api('GET', `/api/mock-exams/${exam.hubspot_id}`)).json().exam.total_bookings).toBe(1)
    const listed = (await t.api('GET', `/api/mock-exams/${exam.hubspot_id}/bookings`)).json().bookings
    expect(listed.map((b: { hubspot_id: string }) => b.hubspot_id)).toEqual([booking.hubspot_id])
  })

  it('lets exactly capacity bookings through when 40 race for 5 seats', async () => {
    const exam = await newExam({ capacity: 5 })
    const responses = await Promise.all(
      Array.from({ length: 40 }, (_, i) => book(exam.hubspot_id, { student_email: `s${i}@example.com` })),
    )
    const statuses = responses.map((r) => r.statusCode)
    expect(statuses.filter((s) => s === 201)).toHaveLength(5)
    expect(statuses.filter((s) => s === 409)).toHaveLength(35)
    for (const r of responses.filter((r) => r.statusCode === 409)) expect(r.json().error.code).toBe('E_EXAM_FULL')
    expect(await hubspotBookingsOf(exam.hubspot_id)).toHaveLength(5)
    await countersSettled(t.app)
    expect(await hubspotTotal(exam.hubspot_id)).toBe('5')
    expect((await t.api('GET', `/api/mock-exams/${exam.hubspot_id}`)).json().exam.total_bookings).toBe(5)
  })

  it('cancels, refuses a second cancel with 409, and batch-cancels reporting per id', async () => {
    const exam = await newExam({ capacity: 10 })
    const ids = []
    for (let i = 0; i < 4; i++)
      ids.push((await book(exam.hubspot_id, { student_email: `c${i}@example.com` })).json().booking.hubspot_id)
    const cancelled = await t.api('POST', `/api/bookings/${ids[0]}/cancel`)
    expect(cancelled.json().booking).toMatchObject({ booking_status: 'cancelled', is_active: 'false' })
    const twice = await t.api('POST', `/api/bookings/${ids[0]}/cancel`)
    expect(twice.statusCode).toBe(409)
    expect(twice.json().error.code).toBe('E_ALREADY_CANCELLED')
    expect((await t.api('POST', '/api/bookings/999999999/cancel')).statusCode).toBe(404)
    const batch = (
      await t.api('POST', '/api/bookings/batch-cancel', { bookingIds: [ids[1], ids[2], ids[0], '888888888'] })
    ).json()
    expect(batch).toMatchObject({ success: true, cancelled: 2, failed: 2 })
    expect(batch.results.map((r: { success: boolean }) => r.success)).toEqual([true, true, false, false])
    expect(batch.results[2].error.code).toBe('E_ALREADY_CANCELLED')
    expect(batch.results[3].error.code).toBe('E_BOOKING_NOT_FOUND')
    await countersSettled(t.app)
    expect((await t.api('GET', `/api/mock-exams/${exam.hubspot_id}`)).json().exam.total_bookings).toBe(1)
    expect(await hubspotTotal(exam.hubspot_id)).toBe('1')
  })

  it('rejects bad input with a 400 naming the field, and changes nothing', async () => {
    const exam = await newExam()
    const before = writesSeen()
    const cases: Array<[string, string, unknown, string]> = [
      [
        'POST',
        '/api/bookings',
        { examId: exam.hubspot_id, student_name: 'A', student_email: 'not-an-email' },
        'student_email',
      ],
      ['POST', '/api/bookings', { examId: 'abc', student_name: 'A', student_email: 'a@b.co' }, 'examId'],
      ['POST', '/api/bookings', { examId: exam.hubspot_id, student_email: 'a@b.co' }, 'student_name'],
      [
        'POST',
        '/api/bookings',
        { examId: exam.hubspot_id, student_name: 'A', student_email: 'a@b.co', dominant_hand: 'both' },
        'dominant_hand',
      ],
      [
        'POST',
        '/api/bookings',
        { examId: exam.hubspot_id, student_name: 'A', student_email: 'a@b.co', booking_status: 'cancelled' },
        '',
      ],
      [
        'POST',
        '/api/mock-exams',
        {
          mock_exam_name: 'x',
          mock_type: 'Mini-mock',
          exam_date: '2026-02-30',
          start_time: '09:00',
          end_time: '10:00',
          location: 'X',
          capacity: 3,
        },
        'exam_date',
      ],
      [
        'POST',
        '/api/mock-exams',
        {
          mock_exam_name: 'x',
          mock_type: 'Mini-mock',
          exam_date: '2026-12-01',
          start_time: '11:00',
          end_time: '10:00',
          location: 'X',
          capacity: 3,
        },
        'end_time',
      ],
      [
        'POST',
        '/api/mock-exams',
        {
          mock_exam_name: 'x',
          mock_type: 'Mini-mock',
          exam_date: '2026-12-01',
          start_time: '09:00',
          end_time: '10:00',
          location: 'X',
          capacity: -1,
        },
        'capacity',
      ],
      ['PATCH', `/api/mock-exams/${exam.hubspot_id}`, { capacity: '7' }, 'capacity'],
      ['PATCH', `/api/mock-exams/${exam.hubspot_id}`, {}, 'body'],
      ['POST', `/api/mock-exams/${exam.hubspot_id}/activate`, { is_active: 'yes' }, 'is_active'],
      ['POST', '/api/bookings/batch-cancel', { bookingIds: [] }, 'bookingIds'],
      ['POST', '/api/bookings/batch-cancel', { bookingIds: ["1' OR 1=1 --"] }, 'bookingIds.0'],
    ]
    for (const [method, url, body, field] of cases) {
      const response = await t.api(method, url, body)
      expect(response.statusCode, `${url} ${JSON.stringify(body)}`).toBe(400)
      expect(response.json().error.code).toBe('E_VALIDATION')
      if (field) expect(response.json().error.field).toBe(field)
    }
    expect((await book('424242424')).json().error.code).toBe('E_EXAM_NOT_FOUND')
    expect(writesSeen()).toBe(before)
  })

  it('refuses to shrink capacity below the seats taken', async () => {
    const exam = await newExam({ capacity: 5 })
    await book(exam.hubspot_id)
    await book(exam.hubspot_id, { student_email: 'b@example.com' })
    const response = await t.api('PATCH', `/api/mock-exams/${exam.hubspot_id}`, { capacity: 1 })
    expect(response.statusCode).toBe(409)
    expect(response.json().error).toMatchObject({ code: 'E_CAPACITY_BELOW_BOOKINGS', field: 'capacity' })
  })

  it('fails cleanly when HubSpot is down or rate-limiting, with nothing half-written', async () => {
    const exam = await newExam({ capacity: 2 })
    t.emulator!.setFaults({ rate5xx: 1 })
    const down = await book(exam.hubspot_id)
    expect(down.statusCode).toBe(502)
    expect(down.json().error.code).toBe('E_HUBSPOT_UNAVAILABLE')
    t.emulator!.setFaults({ rate5xx: 0, rate429: 1 })
    const limited = await book(exam.hubspot_id, { student_email: 'x@example.com' })
    expect(limited.statusCode).toBe(503)
    expect(limited.json().error.code).toBe('E_HUBSPOT_RATE_LIMITED')
    expect(limited.headers['retry-after']).toBeDefined()
    t.emulator!.clearFaults()
    expect(await hubspotBookingsOf(exam.hubspot_id)).toHaveLength(0)
    expect((await t.api('GET', `/api/mock-exams/${exam.hubspot_id}/bookings`)).json().bookings).toHaveLength(0)
    const { rows } = await t.app.db.query<{ status: string }>(
      `SELECT status FROM hubmirror.write_intents WHERE exam_id = $1`,
      [exam.hubspot_id],
    )
    expect(rows.map((r) => r.status)).toEqual(['failed', 'failed'])
    // The failed attempts held no seat: both seats are still free.
    expect((await book(exam.hubspot_id, { student_email: 'p@example.com' })).statusCode).toBe(201)
    expect((await book(exam.hubspot_id, { student_email: 'q@example.com' })).statusCode).toBe(201)
  }, 60_000)

  it('appends one change-log row per write, in the same transaction', async () => {
    const exam = await newExam()
    const { rows: before } = await t.app.db.query<{ n: string }>(
      `SELECT count(*)::text AS n FROM hubmirror.replica_events WHERE exam_id = $1`,
      [exam.hubspot_id],
    )
    const booking = (await book(exam.hubspot_id)).json().booking
    const { rows } = await t.app.db.query<{ kind: string; hubspot_id: string; source: string }>(
      `SELECT kind, hubspot_id, source FROM hubmirror.replica_events WHERE exam_id = $1 ORDER BY seq`,
      [exam.hubspot_id],
    )
    expect(rows.length).toBeGreaterThan(Number(before[0].n))
    expect(rows).toContainEqual({ kind: 'booking', hubspot_id: booking.hubspot_id, source: 'write' })
  })
})

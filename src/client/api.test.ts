// Tests for the REST wrappers: URLs, bodies, the X-Replica-Seq header and error normalisation.
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { createHubmirrorApi } from './api.js'
import { HubmirrorError, isHubmirrorError } from './errors.js'
import { startFakeServer, type FakeServer } from '../../test/support/fake-realtime-server.js'

let server: FakeServer
beforeEach(async () => {
  server = await startFakeServer()
})
afterEach(() => server.close())

describe('createHubmirrorApi', () => {
  it('returns the parsed body of a read with its X-Replica-Seq as seq', async () => {
    server.publish({ hubspot_id: 'b1', exam_id: 'e1' })
    server.publish({ hubspot_id: 'b2', exam_id: 'e2' })
    const api = createHubmirrorApi({ baseUrl: `${server.url}/`, token: 't0k' })
    const res = await api.getExamBookings('e1')
    expect(res.success).toBe(true)
    expect(res.seq).toBe('2')
    expect(res.bookings.map((b) => b.hubspot_id)).toEqual(['b1'])
    expect(server.requests[0]?.headers.authorization).toBe('Bearer t0k')
  })

  it('builds query strings and encodes ids', async () => {
    server.stub('GET /api/mock-exams', 200, { success: true, exams: [] }, { 'x-replica-seq': '7' })
    server.stub('GET /api/mock-exams/a%2Fb', 200, { success: true, exam: { hubspot_id: 'a/b' } })
    const api = createHubmirrorApi({ baseUrl: server.url, token: () => 't0k' })
    const list = await api.listExams({ is_active: true, startDate: '2030-01-01', endDate: '2030-02-01' })
    expect(list).toEqual({ success: true, exams: [], seq: '7' })
    expect(server.requests[0]?.query.toString()).toBe('is_active=true&startDate=2030-01-01&endDate=2030-02-01')
    const one = await api.getExam('a/b')
    expect(one.seq).toBeNull()
  })

  it('sends JSON bodies and generates a booking idempotency key', async () => {
    server.stub('POST /api/bookings', 201, { success: true, booking: { hubspot_id: 'b9' } })
    server.stub('POST /api/bookings', 201, { success: true, booking: { hubspot_id: 'b9' } })
    const api = createHubmirrorApi({ baseUrl: server.url, token: 't0k' })
    const res = await api.createBooking({ examId: 'e1', student_name: 'A', student_email: 'a@x.io' })
    expect(res.booking.hubspot_id).toBe('b9')
    await api.createBooking({ examId: 'e1', student_name: 'A', student_email: 'a@x.io', booking_id: 'mine' })
    expect(server.requests[0]?.headers['content-type']).toBe('application/json')
  })

  it('throws HubmirrorError with status, code, message and field', async () => {
    server.stub('POST /api/bookings', 409, { success: false, error: { code: 'E_EXAM_FULL', message: 'Exam is full' } })
    server.stub('PATCH /api/mock-exams/e1', 400, {
      success: false,
      error: { code: 'E_VALIDATION', message: 'capacity must be positive', field: 'capacity' },
    })
    server.stub('GET /api/sync/status', 502, 'not json')
    server.stub('GET /api/mock-exams/aggregates', 200, { success: false, error: { code: 'E_X', message: 'odd' } })
    const api = createHubmirrorApi({ baseUrl: server.url, token: 't0k' })

    const full = await api.createBooking({ examId: 'e1', student_name: 'A', student_email: 'a@x.io' }).catch((e) => e)
    expect(full).toBeInstanceOf(HubmirrorError)
    expect(full).toMatchObject({ status: 409, code: 'E_EXAM_FULL', message: 'Exam is full' })

    const invalid = await api.updateExam('e1', { capacity: -1 }).catch((e) => e)
    expect(invalid).toMatchObject({ status: 400, code: 'E_VALIDATION', field: 'capacity' })

    const bad = await api.getSyncStatus().catch((e) => e)
    expect(bad).toMatchObject({ status: 502, code: 'E_HTTP_502' })

    const envelopeFailure = await api.getAggregates().catch((e) => e)
    expect(envelopeFailure).toMatchObject({ status: 200, code: 'E_X' })

    const unauthorized = await createHubmirrorApi({ baseUrl: server.url, token: null })
      .getExam('e1')
      .catch((e) => e)
    expect(isHubmirrorError(unauthorized)).toBe(true)
    expect(unauthorized.code).toBe('E_UNAUTHORIZED')
  })

  it('reports an unreachable server as E_NETWORK', async () => {
    const url = server.url
    await server.close()
    server = await startFakeServer()
    const err = await createHubmirrorApi({ baseUrl: url, token: 't0k' })
      .getExam('x')
      .catch((e) => e)
    expect(err).toMatchObject({ status: 0, code: 'E_NETWORK' })
  })

  it('forceSync and batch-cancel hit the documented routes', async () => {
    server.stub('POST /api/admin/sync/force', 200, { success: true, message: 'ok', count: 3 })
    server.stub('POST /api/bookings/batch-cancel', 200, { success: true, results: [], cancelled: 0, failed: 0 })
    const api = createHubmirrorApi({ baseUrl: server.url, token: 't0k' })
    expect((await api.forceSync({ type: 'bookings', examId: 'e1' })).count).toBe(3)
    expect(server.requests[0]?.query.toString()).toBe('type=bookings&examId=e1')
    expect((await api.batchCancelBookings(['a', 'b'])).cancelled).toBe(0)
  })
})

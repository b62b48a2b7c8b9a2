// Conflicting writes on the same rows, interleaved on purpose with a slow HubSpot: the four reported failures and their kin.
import { setTimeout as sleep } from 'node:timers/promises'
import { describe, expect, it } from 'vitest'
import { issueToken, OWN_AUDIENCE, OWN_ISSUER, PERMISSIONS, signToken } from '../../src/http/jwt.js'
import { emulatorAppPerSuite } from '../support/fixtures.js'
import { bookingsOfExam, updateObject } from '../support/hubspot-direct.js'
import { countersSettled } from '../support/counters.js'

/** HubSpot answering in about a second, as in the report: long enough for a second request to overtake. */
const SLOW_HUBSPOT_MS = 1_000

describe('write path under interleaving', () => {
  const t = emulatorAppPerSuite()

  const hubspotBookingsOf = (examId: string) =>
    bookingsOfExam(t.emulator!, examId, ['booking_status', 'booking_id', 'student_name'])
  const writesSeen = () =>
    Object.entries(t.emulator!.stats().byRoute)
      .filter(([route]) => !route.startsWith('GET') && !route.endsWith('/search'))
      .reduce((sum, [, n]) => sum + (n as number), 0)
  const newExam = async (capacity: number) => {
    const response = await t.api('POST', '/api/mock-exams', {
      mock_exam_name: 'Full-length — Toronto',
      mock_type: 'Full-length',
      exam_date: '2026-12-14',
      start_time: '08:00',
      end_time: '16:00',
      location: 'Toronto',
      capacity,
    })
    expect(response.statusCode, response.body).toBe(201)
    return response.json().exam.hubspot_id as string
  }
  let n = 0
  const book = (examId: string, extra: Record<string, unknown> = {}, headers: Record<string, string> = {}) =>
    t.api(
      'POST',
      '/api/bookings',
      { examId, student_name: `Student ${++n}`, student_email: `student${n}@example.com`, ...extra },
      headers,
    )
  const seatsInHubSpot = async (examId: string) =>
    (await hubspotBookingsOf(examId)).filter((b) => b.properties.booking_status === 'confirmed').length
  const seatsInReplica = async (examId: string) =>
    (await t.api('GET', `/api/mock-exams/${examId}/bookings`))
      .json()
      .bookings.filter((b: { booking_status: string }) => b.booking_status === 'confirmed').length

  it('[I1] three creates racing a capacity cut in flight do not overbook (exam 10 → 5 with 5 booked)', async () => {
    const examId = await newExam(10)
    for (let i = 0; i < 5; i++) expect((await book(examId)).statusCode).toBe(201)
    t.emulator!.setFaults({ latencyMs: SLOW_HUBSPOT_MS })
    const patch = t.api('PATCH', `/api/mock-exams/${examId}`, { capacity: 5 })
    await sleep(150)
    const creates = await Promise.all([book(examId), book(examId), book(examId)])
    const patched = await patch
    t.emulator!.clearFaults()
    expect(patched.statusCode, patched.body).toBe(200)
    for (const create of creates) {
      expect(create.statusCode, create.body).toBe(409)
      expect(create.json().error.code).toBe('E_EXAM_FULL')
    }
    expect(await seatsInHubSpot(examId)).toBe(5)
    expect(await seatsInReplica(examId)).toBe(5)
    await countersSettled(t.app)
    expect((await t.api('GET', `/api/mock-exams/${examId}`)).json().exam).toMatchObject({
      capacity: 5,
      total_bookings: 5,
    })
  }, 30_000)

  it('[I1] a capacity cut refused while creates are in flight counts them (E_CAPACITY_BELOW_BOOKINGS)', async () => {
    const examId = await newExam(10)
    for (let i = 0; i < 4; i++) expect((await book(examId)).statusCode).toBe(201)
    t.emulator!.setFaults({ latencyMs: SLOW_HUBSPOT_MS })
    const creates = Promise.all([book(examId), book(examId)])
    await sleep(150)
    const patched = await t.api('PATCH', `/api/mock-exams/${examId}`, { capacity: 5 })
    expect(patched.statusCode, patched.body).toBe(409)
    expect(patched.json().error).toMatchObject({ code: 'E_CAPACITY_BELOW_BOOKINGS', field: 'capacity' })
    expect(patched.json().error.details.taken).toBe(6)
    expect((await creates).map((r) => r.statusCode)).toEqual([201, 201])
    t.emulator!.clearFaults()
    expect(await seatsInHubSpot(examId)).toBe(6)
  }, 30_000)

  it('[I2] a create racing a deactivation in flight is refused, and an archive in flight too', async () => {
    const examId = await newExam(10)
    t.emulator!.setFaults({ latencyMs: SLOW_HUBSPOT_MS })
    const deactivate = t.api('POST', `/api/mock-exams/${examId}/activate`, { is_active: false })
    await sleep(150)
    const create = await book(examId)
    expect((await deactivate).statusCode).toBe(200)
    expect(create.statusCode, create.body).toBe(409)
    expect(create.json().error.code).toBe('E_EXAM_INACTIVE')

    const other = await newExam(10)
    const archive = t.api('DELETE', `/api/mock-exams/${other}`)
    await sleep(150)
    const late = await book(other)
    expect((await archive).statusCode).toBe(200)
    expect([404, 409]).toContain(late.statusCode)
    t.emulator!.clearFaults()
    expect(await seatsInHubSpot(examId)).toBe(0)
    expect(await seatsInHubSpot(other)).toBe(0)
  }, 30_000)

  it('[I4][I5] a batch-cancel overlapping a cancel in flight answers per row, not 500', async () => {
    const examId = await newExam(10)
    const [a, b, c] = await Promise.all([book(examId), book(examId), book(examId)]).then((rs) =>
      rs.map((r) => r.json().booking.hubspot_id as string),
    )
    t.emulator!.setFaults({ latencyMs: SLOW_HUBSPOT_MS })
    const single = t.api('POST', `/api/bookings/${a}/cancel`)
    await sleep(150)
    const batch = await t.api('POST', '/api/bookings/batch-cancel', { bookingIds: [b, a, c] })
    expect(batch.statusCode, batch.body).toBe(200)
    expect(batch.json()).toMatchObject({ success: true, cancelled: 2, failed: 1 })
    expect(batch.json().results).toEqual([
      { id: b, success: true, outcome: 'cancelled' },
      {
        id: a,
        success: false,
        outcome: 'E_CANCEL_IN_PROGRESS',
        error: expect.objectContaining({ code: 'E_CANCEL_IN_PROGRESS' }),
      },
      { id: c, success: true, outcome: 'cancelled' },
    ])
    expect((await single).statusCode).toBe(200)
    t.emulator!.clearFaults()
    expect(await seatsInHubSpot(examId)).toBe(0)
    await countersSettled(t.app)
    expect((await t.api('GET', `/api/mock-exams/${examId}`)).json().exam.total_bookings).toBe(0)
  }, 30_000)

  it('[I5] a batch-cancel counts duplicate ids once and reports every outcome', async () => {
    const examId = await newExam(10)
    const [a, b] = await Promise.all([book(examId), book(examId)]).then((rs) =>
      rs.map((r) => r.json().booking.hubspot_id as string),
    )
    expect((await t.api('POST', `/api/bookings/${a}/cancel`)).statusCode).toBe(200)
    const batch = await t.api('POST', '/api/bookings/batch-cancel', { bookingIds: [b, b, a, '777777777', b] })
    expect(batch.statusCode, batch.body).toBe(200)
    expect(batch.json()).toMatchObject({ cancelled: 1, failed: 2 })
    expect(batch.json().results.map((r: { id: string; outcome: string }) => [r.id, r.outcome])).toEqual([
      [b, 'cancelled'],
      [a, 'E_ALREADY_CANCELLED'],
      ['777777777', 'E_BOOKING_NOT_FOUND'],
    ])
  })

  it('[I6] a booking cancelled, re-confirmed in HubSpot and synced can be cancelled again', async () => {
    const examId = await newExam(10)
    const x = (await book(examId)).json().booking.hubspot_id as string
    for (let round = 0; round < 3; round++) {
      const cancel = await t.api('POST', `/api/bookings/${x}/cancel`)
      expect(cancel.statusCode, `round ${round}: ${cancel.body}`).toBe(200)
      expect(cancel.json().booking.booking_status).toBe('cancelled')
      await sleep(5) // HubSpot's modification times are in milliseconds: the re-confirm must be newer
      await updateObject(t.emulator!, 'bookings', x, { booking_status: 'confirmed', is_active: 'true' })
      const pull = await t.api('POST', '/api/sync/pull', { types: ['bookings'] })
      expect(pull.statusCode, pull.body).toBeLessThan(300)
      const seen = (await t.api('GET', `/api/mock-exams/${examId}/bookings`)).json().bookings
      expect(seen.find((b: { hubspot_id: string }) => b.hubspot_id === x).booking_status).toBe('confirmed')
    }
  }, 30_000)

  it('[I6] an exam can be deactivated and activated back and forth, and its capacity moved up and down', async () => {
    const examId = await newExam(10)
    for (const is_active of [false, true, false, true, false, true]) {
      const response = await t.api('POST', `/api/mock-exams/${examId}/activate`, { is_active })
      expect(response.statusCode, response.body).toBe(200)
      expect(response.json().exam.is_active).toBe(String(is_active))
    }
    for (const capacity of [5, 10, 5, 10]) {
      const response = await t.api('PATCH', `/api/mock-exams/${examId}`, { capacity })
      expect(response.statusCode, response.body).toBe(200)
    }
    expect((await book(examId)).statusCode).toBe(201)
  })

  it('[I7] the same key with another student is refused with 422, and Bob is not silently dropped', async () => {
    const examId = await newExam(10)
    const key = { 'idempotency-key': 'key-alice-bob-0001' }
    const alice = { student_name: 'Alice', student_email: 'alice@example.com' }
    const first = await book(examId, alice, key)
    expect(first.statusCode, first.body).toBe(201)
    // The create's counter push follows its answer: counted before the writes the test watches.
    await countersSettled(t.app)
    const before = writesSeen()
    const bob = await book(examId, { student_name: 'Bob', student_email: 'bob@example.com' }, key)
    expect(bob.statusCode, bob.body).toBe(422)
    expect(bob.json().error).toMatchObject({ code: 'E_IDEMPOTENCY_KEY_REUSED', field: 'Idempotency-Key' })
    expect(writesSeen()).toBe(before)
    const again = await book(examId, alice, key)
    expect(again.statusCode, again.body).toBe(200)
    expect(again.json()).toMatchObject({ replayed: true, booking: { hubspot_id: first.json().booking.hubspot_id } })
    expect(again.json().booking).toEqual(first.json().booking)
    expect(writesSeen()).toBe(before)
    const inHubSpot = await hubspotBookingsOf(examId)
    expect(inHubSpot.map((b) => b.properties.student_name)).toEqual(['Alice'])
  })

  it('[I7] booking_id in the body follows the same rules, and another token subject is another request', async () => {
    const examId = await newExam(10)
    const body = { booking_id: 'body-key-000000001', student_name: 'Carol', student_email: 'carol@example.com' }
    expect((await book(examId, body)).statusCode).toBe(201)
    expect((await book(examId, body)).json()).toMatchObject({ replayed: true })
    const other = await book(examId, { ...body, student_email: 'dave@example.com' })
    expect(other.statusCode).toBe(422)
    expect(other.json().error).toMatchObject({ code: 'E_IDEMPOTENCY_KEY_REUSED', field: 'booking_id' })
    // The same body sent by someone else is not their retry.
    const mallory = issueToken(t.app.config.jwtSecret, PERMISSIONS, { subject: 'mallory' })
    const stolen = await t.api('POST', '/api/bookings', { examId, ...body }, {}, mallory)
    expect(stolen.statusCode, stolen.body).toBe(422)
    expect(stolen.json().error.code).toBe('E_IDEMPOTENCY_KEY_REUSED')
    expect(await hubspotBookingsOf(examId)).toHaveLength(1)

    // Tokens without a subject (another issuer's, say) are told apart one by one: they used to
    // share one scope, so a second such token replaying the first one's key got its booking back.
    const now = Math.floor(Date.now() / 1000)
    const bare = (jti: string) =>
      signToken(t.app.config.jwtSecret, {
        iss: OWN_ISSUER,
        aud: OWN_AUDIENCE,
        iat: now,
        exp: now + 600,
        permissions: [...PERMISSIONS],
        jti,
      } as never)
    const bareBody = { ...body, booking_id: 'body-key-000000002', student_email: 'erin@example.com' }
    const firstBare = await t.api('POST', '/api/bookings', { examId, ...bareBody }, {}, bare('one'))
    expect(firstBare.statusCode, firstBare.body).toBe(201)
    const otherBare = await t.api('POST', '/api/bookings', { examId, ...bareBody }, {}, bare('two'))
    expect(otherBare.statusCode, otherBare.body).toBe(422)
    expect(otherBare.json().error.code).toBe('E_IDEMPOTENCY_KEY_REUSED')
  })

  it('[I7] concurrent requests with one key book once; a reused key is never answered 2xx', async () => {
    const examId = await newExam(20)
    t.emulator!.setFaults({ latencyMs: 300 })
    const key = { 'idempotency-key': 'key-concurrent-0001' }
    const same = { student_name: 'Erin', student_email: 'erin@example.com' }
    const answers = await Promise.all([
      book(examId, same, key),
      book(examId, same, key),
      book(examId, { student_name: 'Frank', student_email: 'frank@example.com' }, key),
      book(examId, same, key),
    ])
    t.emulator!.clearFaults()
    const statuses = answers.map((r) => r.statusCode)
    expect(statuses.filter((s) => s === 201)).toHaveLength(1)
    // Whichever request got there first owns the key; only its own retries may answer 2xx.
    const winner = answers.find((r) => r.statusCode === 201)!.json().booking.student_name
    const sent = ['Erin', 'Erin', 'Frank', 'Erin']
    answers.forEach((answer, i) => {
      if (answer.statusCode === 201 || answer.statusCode === 200) {
        expect(sent[i], answer.body).toBe(winner)
        expect(answer.json().booking.student_name).toBe(winner)
      } else if (sent[i] === winner) expect(answer.json().error.code, answer.body).toBe('E_WRITE_IN_PROGRESS')
      else expect(['E_WRITE_IN_PROGRESS', 'E_IDEMPOTENCY_KEY_REUSED']).toContain(answer.json().error.code)
    })
    // Once the first write has answered, the other student's request is told the key is taken.
    const late = await book(
      examId,
      { student_name: winner === 'Erin' ? 'Frank' : 'Erin', student_email: 'late@example.com' },
      key,
    )
    expect(late.json().error.code).toBe('E_IDEMPOTENCY_KEY_REUSED')
    expect(await hubspotBookingsOf(examId)).toHaveLength(1)
  })

  it('[I8] a malformed Idempotency-Key is refused with 400 naming the header, and nothing is written', async () => {
    const examId = await newExam(10)
    const before = writesSeen()
    for (const key of ['abc/1', 'short', 'x'.repeat(101), 'has space in it', 'ünïcode-key-01']) {
      const response = await book(examId, {}, { 'idempotency-key': key })
      expect(response.statusCode, `${key}: ${response.body}`).toBe(400)
      expect(response.json().error).toMatchObject({ code: 'E_VALIDATION', field: 'Idempotency-Key' })
    }
    const mismatch = await book(examId, { booking_id: 'body-key-0000002' }, { 'idempotency-key': 'header-key-00002' })
    expect(mismatch.statusCode).toBe(400)
    expect(mismatch.json().error.field).toBe('Idempotency-Key')
    const badBody = await book(examId, { booking_id: 'abc/1' })
    expect(badBody.statusCode).toBe(400)
    expect(badBody.json().error.field).toBe('booking_id')
    expect(writesSeen()).toBe(before)
    expect(await hubspotBookingsOf(examId)).toHaveLength(0)
    const { rows } = await t.app.db.query(`SELECT 1 FROM hubmirror.write_intents WHERE exam_id = $1`, [examId])
    expect(rows).toHaveLength(0)
  })

  it('[I10] attendance racing a cancel in flight is refused, and a cancel racing attendance in flight too', async () => {
    const examId = await newExam(10)
    const [a, b] = await Promise.all([book(examId), book(examId)]).then((rs) =>
      rs.map((r) => r.json().booking.hubspot_id as string),
    )
    t.emulator!.setFaults({ latencyMs: SLOW_HUBSPOT_MS })
    const cancel = t.api('POST', `/api/bookings/${a}/cancel`)
    await sleep(150)
    const late = await t.api('PATCH', `/api/bookings/${a}`, { attendance: 'attended' })
    expect(late.statusCode, late.body).toBe(409)
    expect(late.json().error.code).toBe('E_CANCEL_IN_PROGRESS')
    expect((await cancel).statusCode).toBe(200)

    const mark = t.api('POST', '/api/bookings/batch-attendance', { updates: [{ id: b, attendance: 'attended' }] })
    await sleep(150)
    const batch = await t.api('POST', '/api/bookings/batch-cancel', { bookingIds: [b] })
    expect(batch.json().results[0].outcome).toBe('E_WRITE_IN_PROGRESS')
    expect((await mark).json().results[0].outcome).toBe('updated')
    t.emulator!.clearFaults()
    const after = await t.api('PATCH', `/api/bookings/${a}`, { attendance: 'attended' })
    expect(after.json().error.code).toBe('E_BOOKING_CANCELLED')
    const inHubSpot = await bookingsOfExam(t.emulator!, examId, ['booking_status', 'attendance'])
    expect(Object.fromEntries(inHubSpot.map((o) => [o.id, o.properties]))).toMatchObject({
      [a]: { booking_status: 'cancelled', attendance: null },
      [b]: { booking_status: 'confirmed', attendance: 'Yes' },
    })
  }, 30_000)
})

// Garbage in, no harm done: thousands of generated bad requests get 4xx, never a 5xx, and change nothing.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { issueToken, PERMISSIONS, signToken } from '../../src/http/jwt.js'
import { bearer, startTestApp, type TestApp } from '../support/fixtures.js'
import { fmt, recordFigures } from '../support/resilience-harness.js'
import { load, profile } from './profile.js'
import { countersSettled } from '../support/counters.js'

/** A small deterministic PRNG, so a failure can be replayed from its seed. */
function prng(seed: number) {
  let state = seed >>> 0
  return () => {
    state = (state * 1664525 + 1013904223) >>> 0
    return state / 2 ** 32
  }
}

const INJECTIONS = [
  "' OR 1=1 --",
  '"; DROP TABLE hubspot_bookings; --',
  '<script>alert(1)</script>',
  '../../etc/passwd',
  '${7*7}',
  '{{7*7}}',
  '\u0000',
  '%00',
  "Robert'); DROP TABLE students;--",
  '__proto__',
  'constructor',
  '1e309',
  '-1',
  '9'.repeat(40),
  '😀'.repeat(50),
]
const WRONG_TYPES: unknown[] = [null, true, false, 0, -1, 1.5, 1e309, [], {}, [1, 2], { $gt: '' }]
/** Injection strings that are also invalid wherever they land (no valid id, email, key or name). */
const INVALID_STRINGS = [
  ...INJECTIONS.filter((s) => /[^A-Za-z0-9._:-]/.test(s) || s.length < 8),
  '',
  '   ',
  'x'.repeat(5000),
]
/** Values that no field of a booking accepts. */
const invalidFor = (field: string): unknown[] => {
  if (field === 'student_name') return [...WRONG_TYPES, '', '   ', 'x'.repeat(5000)]
  return [...WRONG_TYPES, ...INVALID_STRINGS]
}

describe('bad input', () => {
  let t: TestApp
  let examId: string
  let bookingId: string
  const random = prng(20261122)
  const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)]

  beforeAll(async () => {
    t = await startTestApp({ emulator: true })
    const exam = await t.app.http.inject({
      method: 'POST',
      url: '/api/mock-exams',
      headers: bearer(t.token),
      payload: {
        mock_exam_name: 'Fuzz',
        mock_type: 'Mini-mock',
        exam_date: '2026-12-09',
        start_time: '09:00',
        end_time: '10:00',
        location: 'Online',
        capacity: 3,
      },
    })
    examId = exam.json().exam.hubspot_id
    const booking = await t.app.http.inject({
      method: 'POST',
      url: '/api/bookings',
      headers: bearer(t.token),
      payload: { examId, student_name: 'Fuzz', student_email: 'fuzz@example.com' },
    })
    bookingId = booking.json().booking.hubspot_id
    // The booking's exam counter push follows its answer: landed before the snapshot of "nothing changed".
    await countersSettled(t.app)
  })
  afterAll(() => t.close())

  const snapshot = async () => {
    const { rows } = await t.app.db.query<{ state: string }>(
      `SELECT (SELECT count(*) FROM hubspot_mock_exams)::text || '/' || (SELECT count(*) FROM hubspot_bookings)::text || '/' ||
              (SELECT coalesce(max(seq), 0) FROM hubmirror.replica_events)::text || '/' || (SELECT count(*) FROM hubmirror.write_intents)::text AS state`,
    )
    return `${rows[0].state}/${t.emulator!.stats().total}`
  }

  const badIds = () =>
    pick([
      'abc',
      "1' OR '1'='1",
      '-1',
      '0x10',
      '1.5',
      '9'.repeat(25),
      '%2e%2e',
      ' ',
      '1;2',
      encodeURIComponent(pick(INJECTIONS)),
    ])
  const badBody = (): { payload: string; contentType: string } => {
    const kind = random()
    if (kind < 0.2)
      return {
        payload: pick(['{', '{"a":', '[', 'null', '"str"', '{"examId":}', '\u0000\u0001', '{}}', 'NaN', '{"a":1,}']),
        contentType: 'application/json',
      }
    if (kind < 0.3)
      return {
        payload: 'x=1&y=2',
        contentType: pick(['application/x-www-form-urlencoded', 'text/plain', 'application/xml']),
      }
    if (kind < 0.35)
      return {
        payload: JSON.stringify({ examId, student_name: 'x'.repeat(300_000), student_email: 'a@b.co' }),
        contentType: 'application/json',
      }
    const field = pick([
      'examId',
      'student_name',
      'student_email',
      'booking_id',
      'dominant_hand',
      'capacity',
      'exam_date',
      'start_time',
      'is_active',
      'bookingIds',
      'mock_exam_name',
      '__proto__',
      'constructor',
    ])
    const base: Record<string, unknown> = { examId, student_name: 'Ok Name', student_email: 'ok@example.com' }
    // defineProperty, so that "__proto__" becomes a real key of the JSON rather than a prototype.
    Object.defineProperty(base, field, { value: pick(invalidFor(field)), enumerable: true })
    return { payload: JSON.stringify(base), contentType: 'application/json' }
  }
  const badToken = () => {
    const valid = issueToken(t.app.config.jwtSecret, PERMISSIONS)
    return pick([
      '',
      'Bearer',
      'Bearer ',
      `Bearer ${valid.slice(0, -3)}abc`,
      `Bearer ${valid}.x`,
      `bearer ${pick(INJECTIONS)}`,
      `Basic ${Buffer.from('a:b').toString('base64')}`,
      `Bearer ${signToken('wrong-secret-wrong-secret-wrong', { permissions: [...PERMISSIONS] })}`,
      `Bearer ${signToken(t.app.config.jwtSecret, { permissions: [...PERMISSIONS], exp: 1 })}`,
      `Bearer ${signToken(t.app.config.jwtSecret, { permissions: 'exams.edit' })}`,
    ])
  }

  function generate(): {
    method: 'GET' | 'POST' | 'PATCH' | 'DELETE'
    url: string
    headers: Record<string, string>
    payload?: string
  } {
    const auth = random() < 0.15 ? { authorization: badToken() } : bearer(t.token)
    const target = random()
    if (target < 0.25) {
      const url = pick([
        `/api/mock-exams/${badIds()}`,
        `/api/mock-exams/${badIds()}/bookings`,
        `/api/mock-exams?startDate=${encodeURIComponent(pick(INJECTIONS))}`,
        `/api/mock-exams?is_active=${encodeURIComponent(pick(INJECTIONS))}`,
        `/api/mock-exams?endDate=2026-99-99`,
        `/api/long-poll?after=${encodeURIComponent(pick(INJECTIONS))}`,
      ])
      return { method: 'GET', url, headers: auth }
    }
    const { payload, contentType } = badBody()
    const headers = { ...auth, 'content-type': contentType }
    const route = pick([
      ['POST', '/api/bookings'],
      ['POST', '/api/mock-exams'],
      ['PATCH', `/api/mock-exams/${examId}`],
      ['PATCH', `/api/mock-exams/${badIds()}`],
      ['POST', `/api/mock-exams/${examId}/activate`],
      ['POST', `/api/bookings/${badIds()}/cancel`],
      ['POST', '/api/bookings/batch-cancel'],
      ['DELETE', `/api/mock-exams/${badIds()}`],
      ['POST', '/api/sync/pull'],
      ['POST', `/api/admin/sync/force?type=${encodeURIComponent(pick(INJECTIONS))}`],
    ] as const)
    // A JSON null is how a bodiless POST reads: for /api/sync/pull that is a valid "pull everything".
    if (route[1] === '/api/sync/pull' && payload === 'null')
      return { method: route[0], url: route[1], headers, payload: '[]' }
    return { method: route[0], url: route[1], headers, payload }
  }

  it(`answers ${load.badInputRequests} generated bad requests with 4xx only, and changes nothing`, async () => {
    const started = Date.now()
    const before = await snapshot()
    const statuses = new Map<number, number>()
    let batch: Array<Promise<void>> = []
    for (let i = 0; i < load.badInputRequests; i++) {
      const request = generate()
      batch.push(
        t.app.http.inject(request).then((response) => {
          statuses.set(response.statusCode, (statuses.get(response.statusCode) ?? 0) + 1)
          if (response.statusCode >= 500 || response.statusCode < 400)
            throw new Error(
              `${request.method} ${request.url} ${request.payload?.slice(0, 200)} → ${response.statusCode} ${response.body.slice(0, 300)}`,
            )
          if (/\n\s+at |node_modules|\.ts:\d+/.test(response.body))
            throw new Error(`stack trace leaked: ${response.body.slice(0, 300)}`)
        }),
      )
      if (batch.length === 50) {
        await Promise.all(batch)
        batch = []
      }
    }
    await Promise.all(batch)
    expect(await snapshot()).toBe(before)
    // Still healthy and still serving the untouched data.
    const bookings = await t.app.http.inject({
      method: 'GET',
      url: `/api/mock-exams/${examId}/bookings`,
      headers: bearer(t.token),
    })
    expect(bookings.json().bookings.map((b: { hubspot_id: string }) => b.hubspot_id)).toEqual([bookingId])
    console.log('bad input statuses', Object.fromEntries([...statuses].sort()))
    const byStatus = [...statuses]
      .sort(([x], [y]) => x - y)
      .map(([status, count]) => `${fmt(count)}× ${status}`)
      .join(', ')
    recordFigures({
      scenario: 'bad-input',
      order: 6,
      title: 'Bad input',
      load: `${fmt(load.badInputRequests)} generated bad requests, 50 at a time: malformed JSON, wrong types, injection strings, oversized bodies, bad ids and cursors, forged/expired/missing tokens, on every write route and several read routes`,
      faults: 'garbage in',
      checked: `every answer a 4xx (${byStatus}), none 5xx, no stack trace leaked; replica rows, change log, write intents and HubSpot call count unchanged`,
      durationMs: Date.now() - started,
      figures: { requests: load.badInputRequests, statuses: Object.fromEntries(statuses), profile },
    })
  })
})

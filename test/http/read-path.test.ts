// The read endpoints over seeded replica rows: filters, 404s, aggregates, seq headers, no HubSpot.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { upsertBookings, upsertExams } from '../../src/replica/index.js'
import { bearer, makeBooking, makeExam, startTestApp, type TestApp } from '../support/fixtures.js'

describe('read path', () => {
  let t: TestApp
  const early = makeExam({
    exam_date: '2026-12-01',
    mock_type: 'Mini-mock',
    location: 'Calgary',
    capacity: 20,
    total_bookings: 2,
  })
  const late = makeExam({ exam_date: '2027-01-15', capacity: 10, total_bookings: 1 })
  const inactive = makeExam({ exam_date: '2026-12-20', is_active: 'false', capacity: 5, total_bookings: 0 })
  const archived = makeExam({ exam_date: '2026-12-10', deleted_at: new Date().toISOString() })
  const bookings = [makeBooking(early), makeBooking(early), makeBooking(late)]

  beforeAll(async () => {
    t = await startTestApp()
    await t.app.db.transaction(async (tx) => {
      await upsertExams(tx, [early, late, inactive, archived], 'manual')
      await upsertBookings(tx, bookings, 'manual')
    })
  })
  afterAll(() => t.close())

  const get = (url: string) => t.app.http.inject({ method: 'GET', url, headers: bearer(t.token) })

  it('lists live exams ordered by date, with the seq the snapshot reflects', async () => {
    const response = await get('/api/mock-exams')
    expect(response.statusCode).toBe(200)
    const body = response.json()
    expect(body.success).toBe(true)
    expect(body.exams.map((e: { hubspot_id: string }) => e.hubspot_id)).toEqual([
      early.hubspot_id,
      inactive.hubspot_id,
      late.hubspot_id,
    ])
    expect(Number(response.headers['x-replica-seq'])).toBeGreaterThanOrEqual(7)
    expect(body.exams[0]).toMatchObject({
      mock_exam_name: early.mock_exam_name,
      exam_date: '2026-12-01',
      capacity: 20,
      is_active: 'true',
    })
  })

  it('applies each filter, and caches each filter combination separately', async () => {
    const ids = async (query: string) =>
      (await get(`/api/mock-exams?${query}`)).json().exams.map((e: { hubspot_id: string }) => e.hubspot_id)
    expect(await ids('is_active=false')).toEqual([inactive.hubspot_id])
    expect(await ids('is_active=true')).toEqual([early.hubspot_id, late.hubspot_id])
    expect(await ids('startDate=2026-12-15')).toEqual([inactive.hubspot_id, late.hubspot_id])
    expect(await ids('endDate=2026-12-31&is_active=true')).toEqual([early.hubspot_id])
    expect(await ids('startDate=2026-12-02&endDate=2026-12-31')).toEqual([inactive.hubspot_id])
    // Asked again: served from the cache, still per filter.
    expect(await ids('is_active=false')).toEqual([inactive.hubspot_id])
    expect(t.app.cache.stats.hits).toBeGreaterThan(0)
  })

  it('rejects bad filters with a 400 naming the field', async () => {
    for (const [query, field] of [
      ['startDate=2026-13-01', 'startDate'],
      ['endDate=yesterday', 'endDate'],
      ['startDate=2026-02-30', 'startDate'],
      ['is_active=maybe', 'is_active'],
      ['startDate=2026-12-31&endDate=2026-12-01', 'endDate'],
    ]) {
      const response = await get(`/api/mock-exams?${query}`)
      expect(response.statusCode, query).toBe(400)
      expect(response.json()).toMatchObject({ success: false, error: { code: 'E_VALIDATION', field } })
      expect(response.body).not.toMatch(/at .*\.ts/)
    }
  })

  it('gets one exam, 404 when absent or archived, 400 for a malformed id', async () => {
    expect((await get(`/api/mock-exams/${late.hubspot_id}`)).json().exam).toMatchObject({
      hubspot_id: late.hubspot_id,
      location: late.location,
    })
    for (const id of ['999999999', archived.hubspot_id]) {
      const response = await get(`/api/mock-exams/${id}`)
      expect(response.statusCode).toBe(404)
      expect(response.json().error.code).toBe('E_EXAM_NOT_FOUND')
    }
    const bad = await get(`/api/mock-exams/abc'%20OR%201=1`)
    expect(bad.statusCode).toBe(400)
    expect(bad.json().error.field).toBe('id')
  })

  it("lists an exam's bookings, and 404s for an unknown exam", async () => {
    const response = await get(`/api/mock-exams/${early.hubspot_id}/bookings`)
    expect(response.statusCode).toBe(200)
    expect(
      response
        .json()
        .bookings.map((b: { hubspot_id: string }) => b.hubspot_id)
        .sort(),
    ).toEqual([bookings[0].hubspot_id, bookings[1].hubspot_id].sort())
    expect((await get('/api/mock-exams/424242/bookings')).statusCode).toBe(404)
  })

  it('aggregates live exams by type, location and date', async () => {
    const { aggregates } = (await get('/api/mock-exams/aggregates')).json()
    expect(aggregates).toMatchObject({ total_exams: 3, active_exams: 2, total_capacity: 35, total_bookings: 3 })
    expect(aggregates.utilization).toBeCloseTo(3 / 35, 3)
    expect(aggregates.by_type).toContainEqual({ mock_type: 'Mini-mock', exams: 1, capacity: 20, bookings: 2 })
    expect(aggregates.by_location).toContainEqual({ location: 'Calgary', exams: 1, capacity: 20, bookings: 2 })
    expect(aggregates.by_date).toContainEqual({ exam_date: '2027-01-15', exams: 1, capacity: 10, bookings: 1 })
  })

  it('sees a replica change made through the module once the cache is invalidated', async () => {
    await get(`/api/mock-exams/${late.hubspot_id}`)
    const renamed = {
      ...late,
      mock_exam_name: 'Renamed',
      hs_lastmodifieddate: new Date(Date.now() + 1000).toISOString(),
    }
    await t.app.db.transaction((tx) => upsertExams(tx, [renamed], 'manual'))
    await t.app.cache.invalidate([`exam:${late.hubspot_id}`, 'exams'])
    expect((await get(`/api/mock-exams/${late.hubspot_id}`)).json().exam.mock_exam_name).toBe('Renamed')
  })

  it('never moves a row back in time', async () => {
    const older = { ...early, mock_exam_name: 'Old version', hs_lastmodifieddate: '2020-01-01T00:00:00.000Z' }
    const events = await t.app.db.transaction((tx) => upsertExams(tx, [older], 'sync'))
    expect(events).toEqual([])
    await t.app.cache.invalidate([`exam:${early.hubspot_id}`])
    expect((await get(`/api/mock-exams/${early.hubspot_id}`)).json().exam.mock_exam_name).toBe(early.mock_exam_name)
  })

  it('serves health, readiness and the OpenAPI document without auth, metrics with metrics.read', async () => {
    expect((await t.app.http.inject('/healthz')).statusCode).toBe(200)
    expect((await t.app.http.inject('/readyz')).json()).toMatchObject({ status: 'ready' })
    expect((await t.app.http.inject('/metrics')).statusCode).toBe(401)
    expect((await t.api('GET', '/metrics')).body).toContain('hubmirror_http_request_duration_seconds')
    const openapi = (await t.app.http.inject('/docs/json')).json()
    expect(Object.keys(openapi.paths)).toContain('/api/mock-exams/{id}/bookings')
  })
})

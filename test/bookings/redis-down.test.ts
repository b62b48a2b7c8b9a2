// With Redis unreachable, writes still succeed and reads are answered from Postgres.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { bearer, startTestApp, type TestApp } from '../support/fixtures.js'
import { countersSettled } from '../support/counters.js'

describe('Redis down', () => {
  let t: TestApp
  beforeAll(async () => {
    // Nothing listens on this port: every cache and budget call to Redis fails fast.
    t = await startTestApp({ emulator: true, env: { REDIS_URL: 'redis://127.0.0.1:6399' } })
  })
  afterAll(() => t.close())

  const api = (method: string, url: string, payload?: object) =>
    t.app.http.inject({ method: method as 'POST', url, headers: bearer(t.token), payload })

  it('writes, then reads the write back from Postgres', async () => {
    const created = await api('POST', '/api/mock-exams', {
      mock_exam_name: 'Mini-mock',
      mock_type: 'Mini-mock',
      exam_date: '2026-12-08',
      start_time: '10:00',
      end_time: '11:00',
      location: 'Online',
      capacity: 3,
    })
    expect(created.statusCode).toBe(201)
    const examId = created.json().exam.hubspot_id
    expect(
      (await api('POST', '/api/bookings', { examId, student_name: 'Alan Turing', student_email: 'alan@example.com' }))
        .statusCode,
    ).toBe(201)
    expect((await api('GET', `/api/mock-exams/${examId}/bookings`)).json().bookings).toHaveLength(1)
    await countersSettled(t.app)
    expect((await api('GET', `/api/mock-exams/${examId}`)).json().exam.total_bookings).toBe(1)
    expect(t.app.cache.stats.bypassed).toBeGreaterThan(0)
    expect(t.app.cache.stats.hits).toBe(0)
  })
})

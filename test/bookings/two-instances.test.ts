// Writes on two instances sharing Postgres, Redis and HubSpot: one capacity, read-your-writes everywhere.
import { describe, expect, it } from 'vitest'
import { realPostgres, realRedis, testNamespace } from '../support/env.js'
import { bearer, twoAppsPerSuite, type TestApp } from '../support/fixtures.js'
import { countersSettled } from '../support/counters.js'

describe.skipIf(!realPostgres || !realRedis)('writes across two instances', () => {
  const { a, b } = twoAppsPerSuite({ emulator: {}, redisNamespace: testNamespace('w2') })

  const api = (t: TestApp, method: string, url: string, payload?: object) =>
    t.app.http.inject({ method: method as 'POST', url, headers: bearer(t.token), payload })
  /** An exam created through one instance's API; what it is matters less than its seats. */
  const createExam = async (on: TestApp, name: string, capacity: number) =>
    (
      await api(on, 'POST', '/api/mock-exams', {
        mock_exam_name: name,
        mock_type: 'Clinical Skills',
        exam_date: '2026-12-04',
        start_time: '09:00',
        end_time: '12:00',
        location: 'Calgary',
        capacity,
      })
    ).json().exam

  it('holds capacity across instances: 40 racing on two servers for 5 seats', async () => {
    const exam = await createExam(a, 'SJ', 5)
    const responses = await Promise.all(
      Array.from({ length: 40 }, (_, i) =>
        api(i % 2 ? a : b, 'POST', '/api/bookings', {
          examId: exam.hubspot_id,
          student_name: `S${i}`,
          student_email: `s${i}@example.com`,
        }),
      ),
    )
    expect(responses.filter((r) => r.statusCode === 201)).toHaveLength(5)
    expect(responses.filter((r) => r.statusCode === 409 && r.json().error.code === 'E_EXAM_FULL')).toHaveLength(35)
    await countersSettled(a.app, b.app)
    expect((await api(a, 'GET', `/api/mock-exams/${exam.hubspot_id}`)).json().exam.total_bookings).toBe(5)
    expect((await api(b, 'GET', `/api/mock-exams/${exam.hubspot_id}/bookings`)).json().bookings).toHaveLength(5)
  })

  it('reads its writes on the other instance straight after the 2xx', async () => {
    const exam = await createExam(b, 'CS', 50)
    for (let i = 0; i < 10; i++) {
      const [writer, reader] = i % 2 ? [a, b] : [b, a]
      await api(reader, 'GET', `/api/mock-exams/${exam.hubspot_id}/bookings`)
      expect(
        (
          await api(writer, 'POST', '/api/bookings', {
            examId: exam.hubspot_id,
            student_name: `R${i}`,
            student_email: `r${i}@example.com`,
          })
        ).statusCode,
      ).toBe(201)
      expect((await api(reader, 'GET', `/api/mock-exams/${exam.hubspot_id}/bookings`)).json().bookings).toHaveLength(
        i + 1,
      )
      // The seat count follows the answer (exam-counter.ts); the bookings list above did not wait.
      await countersSettled(writer.app)
      expect((await api(reader, 'GET', `/api/mock-exams/${exam.hubspot_id}`)).json().exam.total_bookings).toBe(i + 1)
    }
    await api(a, 'PATCH', `/api/mock-exams/${exam.hubspot_id}`, { location: 'Edmonton' })
    expect(
      (await api(b, 'GET', '/api/mock-exams'))
        .json()
        .exams.find((e: { hubspot_id: string }) => e.hubspot_id === exam.hubspot_id).location,
    ).toBe('Edmonton')
  })
})

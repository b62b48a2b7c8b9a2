// Two server instances sharing Postgres and Redis: an invalidation on one is seen by the other at once.
import { beforeAll, describe, expect, it } from 'vitest'
import { upsertBookings, upsertExams } from '../../src/replica/index.js'
import { realPostgres, realRedis, testNamespace } from '../support/env.js'
import { bearer, makeBooking, makeExam, twoAppsPerSuite, type TestApp } from '../support/fixtures.js'

describe.skipIf(!realPostgres || !realRedis)('two instances sharing Postgres and Redis', () => {
  const { a, b } = twoAppsPerSuite({ redisNamespace: testNamespace('two') })
  const exam = makeExam({ capacity: 30 })

  beforeAll(async () => {
    await a.app.db.transaction((tx) => upsertExams(tx, [exam], 'manual'))
  })

  const bookingsOn = async (t: TestApp) =>
    (
      await t.app.http.inject({
        method: 'GET',
        url: `/api/mock-exams/${exam.hubspot_id}/bookings`,
        headers: bearer(t.token),
      })
    ).json().bookings.length

  it('serves B a change made and invalidated on A, with no delay', async () => {
    expect(await bookingsOn(a)).toBe(0)
    expect(await bookingsOn(b)).toBe(0)
    const hitsBefore = b.app.cache.stats.hits + b.app.cache.stats.sharedHits
    expect(await bookingsOn(b)).toBe(0)
    expect(b.app.cache.stats.hits + b.app.cache.stats.sharedHits).toBeGreaterThan(hitsBefore)

    for (let round = 1; round <= 20; round++) {
      await a.app.db.transaction((tx) => upsertBookings(tx, [makeBooking(exam)], 'write'))
      await a.app.cache.invalidate([`exam:${exam.hubspot_id}`, 'exams'])
      // Straight after A acknowledges, B must not answer from its old cache entry.
      expect(await bookingsOn(b)).toBe(round)
      expect(await bookingsOn(a)).toBe(round)
    }
  })

  it('shares cached bytes: B answers from Redis what A loaded', async () => {
    await a.app.cache.invalidate(['exams'])
    const url = '/api/mock-exams?is_active=true'
    await a.app.http.inject({ method: 'GET', url, headers: bearer(a.token) })
    await new Promise((resolve) => setTimeout(resolve, 100))
    const shared = b.app.cache.stats.sharedHits
    const response = await b.app.http.inject({ method: 'GET', url, headers: bearer(b.token) })
    expect(response.json().exams).toHaveLength(1)
    expect(b.app.cache.stats.sharedHits).toBe(shared + 1)
  })
})

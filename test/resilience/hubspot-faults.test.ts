// HubSpot faults: 429 storms, 5xx, timeouts and latency; writes succeed or fail cleanly, and our own rate never earns a 429.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Faults, RunningEmulator } from '../../src/emulator/index.js'
import { probeEmulatorLimits, type LimiterProbe } from '../support/emulator-probe.js'
import { bearer, startTestApp, startTestEmulator, type TestApp } from '../support/fixtures.js'
import { testNamespace } from '../support/env.js'
import {
  createExams,
  compareWithHubSpot,
  fmt,
  hubspotObjects,
  recordFigures,
  resilienceDatabase,
  resilienceRedis,
  type Answer,
} from '../support/resilience-harness.js'
import { load, profile } from './profile.js'
import { countersSettled } from '../support/counters.js'

const RATE_LIMIT = 60
const EXAMS = 4
const CONCURRENCY = 10
const PHASES: Array<{ name: string; faults: Partial<Faults> }> = [
  { name: '429 storm', faults: { rate429: 0.5 } },
  { name: '5xx', faults: { rate5xx: 0.3 } },
  { name: 'timeouts', faults: { timeoutRate: 0.2, timeoutHoldMs: 1_500 } },
  { name: 'latency', faults: { latencyMs: 800 } },
  {
    name: 'all at once',
    faults: { rate429: 0.2, rate5xx: 0.1, timeoutRate: 0.05, timeoutHoldMs: 1_500, latencyMs: 200 },
  },
]
const CLEAN_ERRORS = new Set(['E_HUBSPOT_UNAVAILABLE', 'E_HUBSPOT_RATE_LIMITED', 'E_HUBSPOT_REJECTED'])

describe('HubSpot faults', () => {
  let emulator: RunningEmulator
  let database: Awaited<ReturnType<typeof resilienceDatabase>>
  let redis: Awaited<ReturnType<typeof resilienceRedis>>
  let t: TestApp
  let probe: LimiterProbe

  beforeAll(async () => {
    probe = probeEmulatorLimits()
    // A tight limit, the same on both sides, so that the budget is what holds the rate down.
    emulator = await startTestEmulator({ rateLimit10s: RATE_LIMIT })
    database = await resilienceDatabase()
    redis = await resilienceRedis()
    t = await startTestApp({
      database,
      emulator,
      redisNamespace: testNamespace('res-faults'),
      env: {
        REDIS_URL: redis.url,
        HUBSPOT_RATE_LIMIT_10S: String(RATE_LIMIT),
        LOG_LEVEL: process.env.RESILIENCE_LOG ?? 'silent',
      },
    })
  })
  afterAll(async () => {
    probe?.restore()
    await t?.close()
    await emulator?.close()
    await database?.drop()
    await redis?.close()
  })

  const api = async (method: string, url: string, payload?: object): Promise<Answer> => {
    const started = Date.now()
    const response = await t.app.http.inject({ method: method as 'GET', url, headers: bearer(t.token), payload })
    return { status: response.statusCode, body: response.json(), ms: Date.now() - started }
  }

  it(`answers ${PHASES.length} fault phases × ${load.faultWrites} writes with a 2xx or a clean error, within the rate limit`, async () => {
    const started = Date.now()
    const examIds = await createExams(
      EXAMS,
      {
        name: 'Faults',
        mock_type: 'Mock Discussion',
        exam_date: '2026-12-14',
        start_time: '13:00',
        end_time: '15:00',
        location: 'Online',
      },
      (_, path, body) => api('POST', path, body),
    )
    const outcomes: Array<{
      phase: string
      ok: number
      clean: Record<string, number>
      slowestMs: number
      injected: number
    }> = []
    const bad: string[] = []
    const failedKeys: Array<{ key: string; examId: string }> = []
    const ackedKeys = new Set<string>()
    let n = 0

    for (const phase of PHASES) {
      const statsBefore = { ...emulator.stats().byStatus }
      const seenBefore = emulator.stats().total
      emulator.setFaults(phase.faults)
      const outcome = { phase: phase.name, ok: 0, clean: {} as Record<string, number>, slowestMs: 0, injected: 0 }
      let next = 0
      const worker = async () => {
        while (next < load.faultWrites) {
          const i = next++
          const examId = examIds[i % EXAMS]
          const key = `faults-${n++}`
          // Mostly bookings; every tenth write an exam update, which takes a different path (PATCH, not batched).
          const answer =
            i % 10 === 9
              ? await api('PATCH', `/api/mock-exams/${examId}`, { location: `Room ${i}` })
              : await api('POST', '/api/bookings', {
                  examId,
                  booking_id: key,
                  student_name: `Faulty ${key}`,
                  student_email: `${key}@example.com`,
                })
          outcome.slowestMs = Math.max(outcome.slowestMs, answer.ms)
          if (answer.status >= 200 && answer.status < 300) {
            outcome.ok += 1
            if (i % 10 !== 9) ackedKeys.add(key)
          } else if (
            (answer.status === 502 || answer.status === 503) &&
            answer.body?.success === false &&
            CLEAN_ERRORS.has(answer.body.error?.code)
          ) {
            outcome.clean[answer.body.error.code] = (outcome.clean[answer.body.error.code] ?? 0) + 1
            if (i % 10 !== 9) failedKeys.push({ key, examId })
          } else {
            bad.push(`${phase.name}: ${answer.status} ${JSON.stringify(answer.body).slice(0, 300)}`)
          }
        }
      }
      await Promise.all(Array.from({ length: CONCURRENCY }, worker))
      emulator.clearFaults()
      const statsAfter = { ...emulator.stats().byStatus }
      const seen = emulator.stats().total - seenBefore
      const faulted = (status: string) => (statsAfter[status] ?? 0) - (statsBefore[status] ?? 0)
      // Timeouts leave no status: they are the requests HubSpot saw and never answered.
      const answered = Object.keys(statsAfter).reduce((sum, status) => sum + faulted(status), 0)
      outcome.injected = faulted('429') + faulted('502') + faulted('503') + (seen - answered)
      outcomes.push(outcome)
      // Reads never touch HubSpot: they go on during a fault phase at full speed.
      expect((await api('GET', `/api/mock-exams/${examIds[0]}/bookings`)).status).toBe(200)
    }
    expect(bad).toEqual([])

    // A client retries the failed bookings once HubSpot is healthy, with the same booking_id: each lands once.
    for (const { key, examId } of failedKeys) {
      const answer = await api('POST', '/api/bookings', {
        examId,
        booking_id: key,
        student_name: `Faulty ${key}`,
        student_email: `${key}@example.com`,
      })
      expect(answer.status, JSON.stringify(answer.body)).toBeGreaterThanOrEqual(200)
      expect(answer.status).toBeLessThan(300)
      ackedKeys.add(key)
    }
    // A counter update that failed under faults is made good by the next booking of its exam.
    for (const examId of examIds) {
      const key = `faults-final-${examId}`
      expect(
        (
          await api('POST', '/api/bookings', {
            examId,
            booking_id: key,
            student_name: 'Final',
            student_email: 'final@example.com',
          })
        ).status,
      ).toBe(201)
      ackedKeys.add(key)
    }

    const bookings = await hubspotObjects(emulator.url, 'bookings')
    const keys = bookings.map((b) => b.properties.booking_id)
    expect(new Set(keys).size).toBe(keys.length)
    expect(new Set(keys)).toEqual(ackedKeys)
    await countersSettled(t.app)
    const comparison = await compareWithHubSpot(database.url, emulator.url)
    expect(comparison.mismatches).toEqual([])
    // The budget held: every 429 HubSpot gave was an injected one, and the rolling window never passed the limit.
    expect(probe.refused).toEqual({})
    expect(probe.maxRolling10s('test-token')).toBeLessThanOrEqual(RATE_LIMIT)

    const writes = PHASES.length * load.faultWrites
    const figures = {
      rateLimit10s: RATE_LIMIT,
      writes,
      outcomes,
      retriedAfter: failedKeys.length,
      maxRolling10s: probe.maxRolling10s('test-token'),
      earned429: 0,
      bookings: bookings.length,
      replicaMismatches: 0,
    }
    console.log('faults figures', JSON.stringify(figures))
    const okTotal = outcomes.reduce((s, o) => s + o.ok, 0)
    recordFigures({
      scenario: 'hubspot-faults',
      order: 4,
      title: 'HubSpot faults',
      load: `${fmt(writes)} writes (bookings and exam updates, ${CONCURRENCY} at a time) in ${PHASES.length} phases of ${fmt(load.faultWrites)}; rate limit ${RATE_LIMIT}/10 s on both sides`,
      faults:
        outcomes.map((o) => `${o.phase} (${fmt(o.injected)} injected errors)`).join('; ') +
        `; faults: ${PHASES.map((p) => `${p.name} ${JSON.stringify(p.faults)}`).join(', ')}`,
      checked: `${fmt(okTotal)} writes 2xx, ${fmt(writes - okTotal)} clean 502/503 with an E_HUBSPOT_* code, 0 other (slowest ${Math.max(...outcomes.map((o) => o.slowestMs))} ms); the ${failedKeys.length} failed bookings retried with the same booking_id landed once each (${bookings.length} in HubSpot, 0 duplicates); replica = HubSpot; 0 rate-limit 429s earned (every 429 injected), peak ${probe.maxRolling10s('test-token')} calls in any 10 s window (limit ${RATE_LIMIT})`,
      durationMs: Date.now() - started,
      figures: { ...figures, profile },
    })
  }, 900_000)
})

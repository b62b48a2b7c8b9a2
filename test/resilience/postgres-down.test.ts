// Postgres down, then back: cached reads go on, writes get a clean 503 and touch nothing, realtime streams resume with no loss.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { RunningEmulator } from '../../src/emulator/index.js'
import { startTestApp, startTestEmulator, type TestApp } from '../support/fixtures.js'
import { testNamespace } from '../support/env.js'
import { startPrivatePostgres, type PrivatePostgres } from '../support/private-services.js'
import { followLongPoll, followSse, type ResumableFeed } from '../support/resumable-streams.js'
import {
  createExams,
  call,
  compareWithHubSpot,
  fmt,
  hubspotObjects,
  recordFigures,
  resilienceRedis,
  sleep,
  waitUntil,
  withDb,
} from '../support/resilience-harness.js'
import { load, profile } from './profile.js'
import { countersSettled } from '../support/counters.js'

const EXAMS = 3

describe('Postgres down, then back', () => {
  let emulator: RunningEmulator
  let postgres: PrivatePostgres
  let redis: Awaited<ReturnType<typeof resilienceRedis>>
  let t: TestApp
  let base: string
  const feeds: ResumableFeed[] = []

  beforeAll(async () => {
    emulator = await startTestEmulator()
    // A private cluster: stopping it cannot disturb anything else using the machine's Postgres.
    postgres = await startPrivatePostgres()
    redis = await resilienceRedis()
    t = await startTestApp({
      database: { url: postgres.url, drop: async () => {} },
      emulator,
      redisNamespace: testNamespace('res-pg'),
      env: { REDIS_URL: redis.url, LOG_LEVEL: process.env.RESILIENCE_LOG ?? 'silent' },
      // Short heartbeats, so that a stream cut by the outage is noticed quickly.
      realtime: { heartbeatMs: 1_000 },
    })
    base = await t.app.listen()
  })
  afterAll(async () => {
    for (const feed of feeds) await feed.stop()
    await t?.close()
    await emulator?.close()
    await postgres?.remove()
    await redis?.close()
  })

  it(`keeps cached reads going, refuses ${load.postgresOps} writes cleanly, and resumes every stream from its cursor`, async () => {
    const started = Date.now()
    const api = (method: string, path: string, body?: unknown) => call(base, t.token, method, path, body, 15_000)
    const examIds = await createExams(
      EXAMS,
      {
        name: 'PG',
        mock_type: 'Clinical Skills',
        exam_date: '2026-12-11',
        start_time: '09:00',
        end_time: '12:00',
        location: 'Toronto',
      },
      (_, path, body) => api('POST', path, body),
    )
    const book = (examId: string, key: string) =>
      api('POST', '/api/bookings', {
        examId,
        booking_id: key,
        student_name: `Student ${key}`,
        student_email: `${key}@example.com`,
      })
    for (let i = 0; i < 20; i++) expect((await book(examIds[i % EXAMS], `pg-before-${i}`)).status).toBe(201)

    // Realtime clients on the first exam: an SSE stream and a long-poll loop, from the start of the log.
    const watched = examIds[0]
    const sse = followSse(base, t.token, watched, { after: '0' })
    const poll = followLongPoll(base, t.token, watched, '0')
    feeds.push(sse, poll)
    const eventsOf = (examId: string) =>
      withDb(postgres.url, async (client) =>
        (
          await client.query(
            'SELECT seq::text AS seq FROM hubmirror.replica_events WHERE exam_id = $1 ORDER BY replica_events.seq',
            [examId],
          )
        ).rows.map((r) => r.seq as string),
      )
    const beforeOutage = await eventsOf(watched)
    await waitUntil(
      () => sse.seqs.length >= beforeOutage.length && poll.seqs.length >= beforeOutage.length,
      10_000,
      'the streams to catch up',
    )
    const lastSeenBefore = sse.seqs[sse.seqs.length - 1]

    // Warm the cache: every read the dashboard makes.
    const cachedPaths = [
      '/api/mock-exams',
      '/api/mock-exams/aggregates',
      ...examIds.flatMap((id) => [`/api/mock-exams/${id}`, `/api/mock-exams/${id}/bookings`]),
    ]
    // The bookings' total_bookings pushes (and any pull they cause) commit change events that bump
    // the cache; a read warmed before they land would be a miss in the outage. So: let them land,
    // then warm until one whole pass over the paths is served from the cache.
    await countersSettled(t.app)
    const replicaLoads = () => t.app.cache.stats.misses + t.app.cache.stats.bypassed
    const warm = new Map<string, string>()
    for (let pass = 0; ; pass++) {
      const loadsBefore = replicaLoads()
      for (const path of cachedPaths) {
        const answer = await api('GET', path)
        expect(answer.status).toBe(200)
        warm.set(path, JSON.stringify(answer.body))
      }
      if (replicaLoads() === loadsBefore) break
      expect(pass, 'the cache to hold still for one pass over the dashboard reads').toBeLessThan(20)
      await countersSettled(t.app)
    }
    const hubspotBookingsBefore = (await hubspotObjects(emulator.url, 'bookings')).length
    const hubspotBefore = emulator.stats().total

    const livenessLocks = () =>
      withDb(
        postgres.url,
        async (client) =>
          (
            await client.query(
              `SELECT count(*)::int AS n FROM pg_locks WHERE locktype = 'advisory' AND ((classid::bigint << 32) | objid::bigint) = $1`,
              [t.app.writes!.ownerKey],
            )
          ).rows[0].n as number,
      )
    expect(await livenessLocks()).toBe(1)
    await postgres.stopImmediate()
    const downAt = Date.now()
    expect((await api('GET', '/readyz')).status).toBe(503)

    // Cached reads go on, byte for byte; a read that is not cached gets a clean 503.
    let cachedReads = 0
    const slowest = { read: 0, write: 0 }
    for (let i = 0; cachedReads < load.postgresOps; i++) {
      const path = cachedPaths[i % cachedPaths.length]
      const answer = await api('GET', path)
      expect(answer.status, `${path}: ${JSON.stringify(answer.body)}`).toBe(200)
      expect(JSON.stringify(answer.body)).toBe(warm.get(path))
      slowest.read = Math.max(slowest.read, answer.ms)
      cachedReads += 1
    }
    const uncached = await api('GET', `/api/mock-exams/${examIds[0]}0`)
    expect(uncached.status).toBe(503)
    expect(uncached.body.error.code).toBe('E_DATABASE_UNAVAILABLE')

    // Writes: a clean 503 each, and nothing reaches HubSpot.
    const refusedKeys: string[] = []
    const refused = new Map<string, number>()
    const writes = [
      ...Array.from({ length: load.postgresOps }, (_, i) => () => {
        const key = `pg-during-${i}`
        refusedKeys.push(key)
        return book(examIds[i % EXAMS], key)
      }),
      () =>
        api('POST', '/api/mock-exams', {
          mock_exam_name: 'PG down',
          mock_type: 'Mini-mock',
          exam_date: '2026-12-12',
          start_time: '09:00',
          end_time: '10:00',
          location: 'Online',
          capacity: 5,
        }),
      () => api('PATCH', `/api/mock-exams/${examIds[1]}`, { location: 'Ottawa' }),
      () => api('POST', '/api/bookings/batch-cancel', { bookingIds: ['30000000001', '30000000002'] }),
    ]
    for (let i = 0; i < writes.length; i += 20) {
      for (const answer of await Promise.all(writes.slice(i, i + 20).map((write) => write()))) {
        const key = `${answer.status} ${answer.body?.error?.code}`
        refused.set(key, (refused.get(key) ?? 0) + 1)
        slowest.write = Math.max(slowest.write, answer.ms)
      }
    }
    expect(Object.fromEntries(refused)).toEqual({ '503 E_DATABASE_UNAVAILABLE': writes.length })
    expect(emulator.stats().total).toBe(hubspotBefore)
    const outageMs = Date.now() - downAt

    await postgres.start()
    const recoveredInMs = await waitUntil(
      async () => (await api('GET', '/readyz')).status === 200,
      30_000,
      '/readyz after Postgres is back',
    )

    // Writes work again, and their changes stream out.
    const after: string[] = []
    for (let i = 0; i < 30; i++) {
      const key = `pg-after-${i}`
      let answer = await book(examIds[i % EXAMS], key)
      // The pool may hand out a connection that died with the server once: a client retries a 503.
      for (let retry = 0; answer.status === 503 && retry < 5; retry++) answer = await book(examIds[i % EXAMS], key)
      expect(answer.status, JSON.stringify(answer.body)).toBe(201)
      after.push(key)
    }
    const patched = await api('PATCH', `/api/mock-exams/${watched}`, { location: 'Hamilton' })
    expect(patched.status).toBe(200)

    // Nothing of the refused writes exists anywhere.
    const inHubSpot = await hubspotObjects(emulator.url, 'bookings')
    expect(inHubSpot.length).toBe(hubspotBookingsBefore + after.length)
    const refusedSet = new Set(refusedKeys)
    expect(inHubSpot.filter((b) => refusedSet.has(b.properties.booking_id as string))).toEqual([])
    const traces = await withDb(postgres.url, async (client) => ({
      bookings: (
        await client.query('SELECT count(*)::int AS n FROM public.hubspot_bookings WHERE booking_id = ANY($1)', [
          refusedKeys,
        ])
      ).rows[0].n,
      intents: (
        await client.query(
          `SELECT count(*)::int AS n FROM hubmirror.write_intents WHERE idempotency_key = ANY($1) OR payload->>'mock_exam_name' = 'PG down' OR payload->>'location' = 'Ottawa'`,
          [refusedKeys],
        )
      ).rows[0].n,
      exams: (
        await client.query(
          `SELECT count(*)::int AS n FROM public.hubspot_mock_exams WHERE mock_exam_name = 'PG down' OR location = 'Ottawa'`,
        )
      ).rows[0].n,
    }))
    expect(traces).toEqual({ bookings: 0, intents: 0, exams: 0 })

    // The streams resume from their cursors: exactly the log, in order, nothing lost, nothing twice.
    const finalLog = await eventsOf(watched)
    await waitUntil(
      () => sse.seqs.length >= finalLog.length && poll.seqs.length >= finalLog.length,
      20_000,
      `the streams to deliver ${finalLog.length} events (SSE ${sse.seqs.length}, long-poll ${poll.seqs.length})`,
    )
    await sleep(200)
    expect(sse.seqs).toEqual(finalLog)
    expect(poll.seqs).toEqual(finalLog)
    // And a client that was away for the whole outage resumes from the cursor it had.
    const resumed = followSse(base, t.token, watched, { after: lastSeenBefore })
    feeds.push(resumed)
    const missed = finalLog.slice(finalLog.indexOf(lastSeenBefore) + 1)
    await waitUntil(() => resumed.seqs.length >= missed.length, 10_000, 'the resumed stream')
    await sleep(200)
    expect(resumed.seqs).toEqual(missed)

    // The write path holds its liveness lock again (other instances must not take its writes for orphans).
    const livenessBackInMs = await waitUntil(
      async () => (await livenessLocks()) === 1,
      15_000,
      'the liveness lock to be held again',
    )

    await countersSettled(t.app)
    const comparison = await compareWithHubSpot(postgres.url, emulator.url)
    expect(comparison.mismatches).toEqual([])

    const figures = {
      cachedReads,
      cachedPaths: cachedPaths.length,
      refusedWrites: writes.length,
      outageMs,
      recoveredInMs,
      livenessBackInMs,
      slowestReadMs: slowest.read,
      slowestRefusalMs: slowest.write,
      writesAfter: after.length,
      streamEvents: finalLog.length,
      missedDuringOutage: missed.length,
      sseReconnects: sse.retries,
      longPollRetries: poll.retries,
    }
    console.log('postgres figures', JSON.stringify(figures))
    recordFigures({
      scenario: 'postgres-down',
      order: 3,
      title: 'Postgres down, then back',
      load: `${fmt(cachedReads)} cached reads (${cachedPaths.length} dashboard endpoints) and ${fmt(writes.length)} writes (bookings, exam create/update, batch cancel) during the outage; ${after.length} bookings after it; an SSE stream and a long-poll loop throughout`,
      faults: `Postgres stopped (pg_ctl stop -m immediate) for ${(outageMs / 1000).toFixed(1)} s, then restarted`,
      checked: `every cached read 200 and byte-identical (slowest ${slowest.read} ms); uncached read 503 E_DATABASE_UNAVAILABLE; ${fmt(writes.length)}/${fmt(writes.length)} writes 503 E_DATABASE_UNAVAILABLE (slowest ${slowest.write} ms), 0 HubSpot calls, 0 rows, 0 intents; ready again ${recoveredInMs} ms after restart; SSE and long-poll delivered exactly the ${finalLog.length} logged events in order; a client resuming from its pre-outage cursor got exactly the ${missed.length} it missed; replica = HubSpot`,
      durationMs: Date.now() - started,
      figures: { ...figures, profile },
    })
  })
})

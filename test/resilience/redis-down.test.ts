// Redis down, then back: reads come from Postgres, writes stay right, and the cache is coherent again with no stale read.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { RunningEmulator } from '../../src/emulator/index.js'
import { bearer, startTestApp, startTestEmulator, type TestApp } from '../support/fixtures.js'
import { testNamespace } from '../support/env.js'
import { startPrivateRedis, type PrivateRedis } from '../support/private-services.js'
import {
  createExams,
  compareWithHubSpot,
  ConsistencyLedger,
  fmt,
  prng,
  recordFigures,
  resilienceDatabase,
  seedFromEnv,
  type Instance,
  type ReadKind,
} from '../support/resilience-harness.js'
import { load, profile } from './profile.js'
import { countersSettled } from '../support/counters.js'

const EXAMS = 4
const CONCURRENCY = 8

function instance(name: string, t: TestApp): Instance {
  return {
    name,
    async request(method, path, body) {
      const started = Date.now()
      const response = await t.app.http.inject({
        method: method as 'GET',
        url: path,
        headers: bearer(t.token),
        payload: body as object | undefined,
      })
      return { status: response.statusCode, body: response.json(), ms: Date.now() - started }
    },
  }
}

describe('Redis down, then back', () => {
  let emulator: RunningEmulator
  let database: Awaited<ReturnType<typeof resilienceDatabase>>
  let redis: PrivateRedis
  let a: TestApp
  let b: TestApp

  beforeAll(async () => {
    // A generous rate limit, the same on both sides: this scenario is about the cache. (With the
    // default one, the HubSpot budget's fallback while Redis is down lets each instance spend the
    // whole limit: a separate finding, see docs/RELIABILITY.md.)
    emulator = await startTestEmulator({ rateLimit10s: 3_000 })
    database = await resilienceDatabase()
    // A private Redis, so that killing it cannot disturb anything else using the machine's.
    redis = await startPrivateRedis()
    const options = {
      database,
      emulator,
      redisNamespace: testNamespace('res-redis'),
      env: { REDIS_URL: redis.url, HUBSPOT_RATE_LIMIT_10S: '3000', LOG_LEVEL: process.env.RESILIENCE_LOG ?? 'silent' },
    }
    a = await startTestApp(options)
    b = await startTestApp(options)
  })
  afterAll(async () => {
    await a?.close()
    await b?.close()
    await emulator?.close()
    await database?.drop()
    await redis?.close()
  })

  it(`serves ${load.redisOps} mixed operations from Postgres while Redis is down, and none stale after it is back`, async () => {
    const started = Date.now()
    const random = prng(seedFromEnv(6_379))
    const instances = [instance('A', a), instance('B', b)]
    const pick = <T>(items: readonly T[]) => items[Math.floor(random() * items.length)]
    const examIds = await createExams(
      EXAMS,
      {
        name: 'Redis',
        mock_type: 'Mini-mock',
        exam_date: '2026-12-10',
        start_time: '09:00',
        end_time: '10:00',
        location: 'Online',
      },
      (i, path, body) => instances[i % 2].request('POST', path, body),
    )
    const ledger = new ConsistencyLedger(examIds)
    ledger.settle = () => countersSettled(a.app, b.app)
    ledger.diagnose = async (examId) => {
      const row = (
        await a.app.db.query<{ total: number; confirmed: number; seq: string }>(
          `SELECT total_bookings AS total, (SELECT count(*)::int FROM public.hubspot_bookings WHERE mock_exam_id = $1 AND booking_status = 'confirmed' AND deleted_at IS NULL) AS confirmed, hs_lastmodifieddate::text AS seq FROM public.hubspot_mock_exams WHERE hubspot_id = $1`,
          [examId],
        )
      ).rows[0]
      return `now in Postgres: total ${row.total}, confirmed ${row.confirmed} (${row.seq}); cache A ${JSON.stringify(a.app.cache.stats)} B ${JSON.stringify(b.app.cache.stats)}`
    }
    let n = 0
    const cacheStats = () => {
      const [x, y] = [a.app.cache.stats, b.app.cache.stats]
      return {
        hits: x.hits + y.hits + x.sharedHits + y.sharedHits,
        bypassed: x.bypassed + y.bypassed,
        misses: x.misses + y.misses,
      }
    }

    /** `ops` operations, CONCURRENCY at a time: 25% bookings, 5% cancels, 70% reads of every kind, on random instances. */
    const run = async (
      ops: number,
      onEach?: () => void,
      untilAlso: () => boolean = () => true,
      deadlineMs = 60_000,
    ) => {
      let next = 0
      const deadline = Date.now() + deadlineMs
      const worker = async () => {
        while ((next < ops || !untilAlso()) && Date.now() < deadline) {
          next += 1
          const on = pick(instances)
          const examId = pick(examIds)
          const roll = random()
          if (roll < 0.25) await ledger.book(on, examId, n++)
          else if (roll < 0.3) await ledger.cancel(on, examId, random)
          else await ledger.read(on, examId, pick<ReadKind>(['bookings', 'bookings', 'exam', 'list']))
          onEach?.()
        }
      }
      await Promise.all(Array.from({ length: CONCURRENCY }, worker))
    }

    // Up: a warm cache on both instances.
    ledger.phase = 'Redis up'
    await run(Math.floor(load.redisOps / 3))
    const warm = cacheStats()
    expect(warm.hits).toBeGreaterThan(0)
    expect(ledger.stale).toEqual([])

    // Down: every read bypasses the cache (answered from Postgres), every write still succeeds.
    await redis.kill()
    ledger.phase = 'Redis down'
    const downAt = cacheStats()
    const writesBefore = ledger.counts.writes + ledger.counts.cancels
    const readsBefore = ledger.counts.reads
    await run(load.redisOps)
    const down = cacheStats()
    const outage = {
      reads: ledger.counts.reads - readsBefore,
      writes: ledger.counts.writes + ledger.counts.cancels - writesBefore,
      bypassed: down.bypassed - downAt.bypassed,
      hits: down.hits - downAt.hits,
    }
    expect(ledger.errors).toEqual([])
    expect(ledger.stale).toEqual([])
    expect(outage.writes).toBeGreaterThan(0)
    // Nothing cached before the outage may answer during it: its generations cannot be checked.
    expect(outage.hits).toBe(0)
    expect(outage.bypassed).toBeGreaterThanOrEqual(outage.reads)

    // Back (empty, as after a restart): reads check generations again; the first hits come back.
    await redis.start()
    ledger.phase = 'Redis back'
    const backAt = Date.now()
    const returned = cacheStats()
    let firstHitMs: number | null = null
    // At least as many operations as during the outage, and on until the clients have reconnected and hit.
    const opsBefore = ledger.counts.reads + ledger.counts.writes + ledger.counts.cancels
    await run(
      load.redisOps,
      () => {
        if (firstHitMs === null && cacheStats().hits > returned.hits) firstHitMs = Date.now() - backAt
      },
      () => firstHitMs !== null,
      30_000,
    )
    const afterReturnOps = ledger.counts.reads + ledger.counts.writes + ledger.counts.cancels - opsBefore
    expect(ledger.errors).toEqual([])
    expect(ledger.stale).toEqual([])
    const back = cacheStats()
    expect(back.hits - returned.hits).toBeGreaterThan(0)
    expect(firstHitMs).not.toBeNull()

    // Coherent: for every exam, both instances answer the same bytes, twice (the second from the cache), equal to Postgres.
    const hitsBefore = cacheStats().hits
    for (const examId of examIds) {
      const answers = []
      for (const on of instances) for (let i = 0; i < 2; i++) answers.push(await ledger.read(on, examId, 'bookings'))
      const bodies = answers.map((x) => JSON.stringify(x.body))
      expect(new Set(bodies).size).toBe(1)
      const rows = (
        await a.app.db.query<{ n: number }>(
          'SELECT count(*)::int AS n FROM public.hubspot_bookings WHERE mock_exam_id = $1 AND deleted_at IS NULL',
          [examId],
        )
      ).rows[0].n
      expect(answers[0].body.bookings).toHaveLength(rows)
    }
    expect(cacheStats().hits - hitsBefore).toBeGreaterThanOrEqual(examIds.length * 2)
    expect(ledger.stale).toEqual([])

    // Writes stayed correct throughout: the replica equals HubSpot, and every exam's count is what was acknowledged.
    await countersSettled(a.app, b.app)
    const comparison = await compareWithHubSpot(database.url, emulator.url)
    expect(comparison.mismatches).toEqual([])
    const confirmed = (
      await a.app.db.query<{ exam: string; n: number }>(
        `SELECT mock_exam_id AS exam, count(*)::int AS n FROM public.hubspot_bookings WHERE booking_status = 'confirmed' AND deleted_at IS NULL GROUP BY 1`,
      )
    ).rows
    expect(new Map(confirmed.map((r) => [r.exam, r.n]))).toEqual(
      new Map([...ledger.expectedConfirmed()].filter(([, count]) => count > 0)),
    )

    const figures = {
      instances: 2,
      exams: EXAMS,
      concurrency: CONCURRENCY,
      ops: ledger.counts.reads + ledger.counts.writes + ledger.counts.cancels,
      reads: ledger.counts.reads,
      bookings: ledger.counts.writes,
      cancels: ledger.counts.cancels,
      outage,
      firstHitAfterReturnMs: firstHitMs,
      hitsAfterReturn: back.hits - returned.hits,
      afterReturnOps,
      staleReads: ledger.stale.length,
      replicaMismatches: comparison.mismatches.length,
    }
    console.log('redis figures', JSON.stringify(figures))
    recordFigures({
      scenario: 'redis-down',
      order: 2,
      title: 'Redis down, then back',
      load: `${fmt(figures.ops)} mixed operations (${fmt(figures.reads)} reads, ${fmt(figures.bookings)} bookings, ${fmt(figures.cancels)} cancels), ${CONCURRENCY} at a time on 2 instances sharing Postgres and Redis`,
      faults: `Redis killed (kill -9) for ${fmt(load.redisOps)} operations (${fmt(outage.reads)} reads, ${fmt(outage.writes)} writes), then restarted empty`,
      checked: `0 failed operations; 0 stale reads out of ${fmt(figures.reads)} (every read reflects every write acknowledged before it, on either instance); during the outage ${fmt(outage.bypassed)} reads answered from Postgres and 0 from the cache; first cache hit ${firstHitMs} ms after Redis returned; both instances then answer identical bytes, from the cache; replica = HubSpot`,
      durationMs: Date.now() - started,
      figures: { ...figures, profile },
    })
  })
})

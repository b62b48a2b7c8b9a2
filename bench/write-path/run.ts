// Benchmarks booking creates against HubSpot's rate limit: bookings/s vs the one-call-per-booking ceiling, calls per booking.
import { percentile } from '../support/stats.js'
import { setTimeout as sleep } from 'node:timers/promises'
import { randomBytes } from 'node:crypto'
import { mkdirSync, writeFileSync } from 'node:fs'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { Redis } from 'ioredis'
import { issueToken } from '../../src/http/jwt.js'
import { freshDatabase } from '../support/database.js'
import { machineInfo, machineLine, round } from '../support/machine.js'
import { childEnv, freePort, processCpuSeconds, startChild, stopAll, stopChildrenOnExit } from '../support/processes.js'
import { routeCount, type EmulatorStats } from '../support/routes.js'

const HERE = dirname(fileURLToPath(import.meta.url))
const ROOT = resolve(HERE, '../..')
const WORK = join(ROOT, 'bench/.work')
const PG_URL = process.env.BENCH_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres'
const REDIS_URL = process.env.BENCH_REDIS_URL ?? 'redis://127.0.0.1:6379'
/** Small enough that the limit, not this machine, is what a one-call-per-booking flow would hit. */
const RATE_LIMIT_10S = Number(process.env.BENCH_RATE_LIMIT_10S ?? 50)
const DURATION_S = Number(process.env.BENCH_DURATION_S ?? 30)
const NAIVE_DURATION_S = Number(process.env.BENCH_NAIVE_DURATION_S ?? 15)
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 64)
const EXAMS = 4
/** Another checkout of hubmirror to run instead of this one (A/B of a change to the write path). */
const HUBMIRROR_DIR = process.env.BENCH_HUBMIRROR_DIR ? resolve(process.env.BENCH_HUBMIRROR_DIR) : ROOT
const CEILING = RATE_LIMIT_10S / 10
const GOALS = { ofCeiling: 0.9 }
const JWT_SECRET = randomBytes(24).toString('base64url')
const RUN = randomBytes(3).toString('hex')
/** Routes that read objects back: the write path must call none of them. */
const READ_ROUTES = [
  'GET /crm/v3/objects/:type',
  'GET /crm/v3/objects/:type/:id',
  'POST /crm/v3/objects/:type/batch/read',
  'POST /crm/v3/objects/:type/search',
]

/** What the run's calls added to the emulator's counts. */
type Delta = EmulatorStats

interface FlowResult {
  attempted: number
  created: number
  failed: number
  failures: Record<string, number>
  elapsedS: number
  bookingsPerSecond: number
  p50Ms: number
  p99Ms: number
  calls: Delta
}

function diff(after: EmulatorStats, before: EmulatorStats): Delta {
  const sub = (a: Record<string, number>, b: Record<string, number>) =>
    Object.fromEntries(
      Object.entries(a)
        .map(([k, v]) => [k, v - (b[k] ?? 0)])
        .filter(([, v]) => (v as number) > 0),
    )
  return {
    total: after.total - before.total,
    byRoute: sub(after.byRoute, before.byRoute),
    byStatus: sub(after.byStatus, before.byStatus),
  }
}

/** Waits until the server owes no exam counter push (its /metrics gauge; absent on code from before the gauge). */
async function countersSettled(api: string): Promise<void> {
  const token = issueToken(JWT_SECRET, ['metrics.read'], { ttlSeconds: 3600 })
  for (;;) {
    const text = await (await fetch(`${api}/metrics`, { headers: { authorization: `Bearer ${token}` } })).text()
    const owed = /^hubmirror_exam_counter_pending (\S+)$/m.exec(text)
    if (!owed || Number(owed[1]) === 0) return
    await sleep(50)
  }
}

/** Runs `worker` on `concurrency` lanes until the deadline; each call is one booking attempt. */
async function drive(
  concurrency: number,
  durationS: number,
  worker: (n: number) => Promise<string | null>,
): Promise<Omit<FlowResult, 'calls'>> {
  const latencies: number[] = []
  const failures: Record<string, number> = {}
  let attempted = 0
  let created = 0
  const started = performance.now()
  const deadline = started + durationS * 1000
  let last = started
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (performance.now() < deadline) {
        const n = attempted++
        const t0 = performance.now()
        const failure = await worker(n).catch((error: unknown) => `thrown: ${(error as Error).message}`)
        last = performance.now()
        if (failure === null) {
          created += 1
          latencies.push(last - t0)
        } else failures[failure] = (failures[failure] ?? 0) + 1
      }
    }),
  )
  latencies.sort((a, b) => a - b)
  const elapsedS = (last - started) / 1000
  return {
    attempted,
    created,
    failed: attempted - created,
    failures,
    elapsedS: round(elapsedS),
    bookingsPerSecond: round(created / elapsedS),
    p50Ms: round(percentile(latencies, 50)),
    p99Ms: round(percentile(latencies, 99)),
  }
}

async function json<T>(res: Response, what: string): Promise<T> {
  const text = await res.text()
  if (!res.ok) throw new Error(`${what}: ${res.status} ${text.slice(0, 300)}`)
  return JSON.parse(text) as T
}

async function main(): Promise<void> {
  stopChildrenOnExit()
  const machine = machineInfo()
  mkdirSync(WORK, { recursive: true })
  const database = await freshDatabase(PG_URL, 'hm_bench_write')
  const namespace = `hmbench-${RUN}`
  try {
    const emulatorChild = await startChild(
      'emulator',
      process.execPath,
      [
        'bin/hubmirror.js',
        'emulator',
        '--port',
        '0',
        '--data-dir',
        'none',
        '--seed',
        'none',
        '--rate-limit-10s',
        String(RATE_LIMIT_10S),
      ],
      { cwd: ROOT, env: childEnv({}), ready: /HubSpot emulator: (http\S+)/ },
    )
    const emulator = emulatorChild.match[1]!
    const types = (
      await json<{ objectTypes: Record<string, string> }>(
        await fetch(`${emulator}/_emulator/config`),
        'emulator config',
      )
    ).objectTypes
    const examsType = types.mock_exams!
    const bookingsType = types.bookings!
    const stats = async () => json<EmulatorStats>(await fetch(`${emulator}/_emulator/stats`), 'emulator stats')

    const port = await freePort()
    const { child: server } = await startChild('hubmirror', process.execPath, ['bin/hubmirror.js', 'serve'], {
      cwd: HUBMIRROR_DIR,
      env: childEnv(
        {
          PORT: String(port),
          HOST: '127.0.0.1',
          DATABASE_URL: database.url,
          REDIS_URL,
          HUBMIRROR_REDIS_NAMESPACE: namespace,
          HUBSPOT_ACCESS_TOKEN: 'bench-hubmirror',
          HUBSPOT_BASE_URL: emulator,
          // No burst limit configured: hubmirror learns the emulator's from its rate-limit headers.
          // A baseline checkout from before learned limits (issue 15) has to be told it.
          HUBSPOT_RATE_LIMIT_10S: HUBMIRROR_DIR === ROOT ? undefined : String(RATE_LIMIT_10S),
          HUBMIRROR_JWT_SECRET: JWT_SECRET,
          HUBMIRROR_DATA_DIR: join(WORK, 'write-path-data'),
          // No on-access or watched pull during the run: every HubSpot call counted is the write path's.
          SYNC_STALE_AFTER: '1h',
          SYNC_LIVE_INTERVAL: '1h',
        },
        ['LOG_LEVEL', 'NODE_OPTIONS'],
      ),
      ready: /hubmirror is running/,
    })
    const api = `http://127.0.0.1:${port}`
    const auth = {
      authorization: `Bearer ${issueToken(JWT_SECRET, ['exams.view', 'exams.edit', 'bookings.edit'], { ttlSeconds: 3600 })}`,
      'content-type': 'application/json',
    }

    // Exams with room for every booking the run can make, created through hubmirror's API.
    const examIds: string[] = []
    for (let i = 0; i < EXAMS; i++) {
      const body = {
        mock_exam_name: `Bench ${RUN} #${i}`,
        mock_type: 'Clinical Skills',
        exam_date: '2026-12-05',
        start_time: '09:00',
        end_time: '12:00',
        location: 'Mississauga',
        capacity: 10_000,
      }
      const { exam } = await json<{ exam: { hubspot_id: string } }>(
        await fetch(`${api}/api/mock-exams`, { method: 'POST', headers: auth, body: JSON.stringify(body) }),
        'create exam',
      )
      examIds.push(exam.hubspot_id)
    }
    // The naive flow's exams, made now with its own token (so a window of its own) so that they
    // are out of its window by the time it runs.
    const naiveToken = { authorization: 'Bearer bench-naive', 'content-type': 'application/json' }
    const naiveExams: string[] = []
    for (let i = 0; i < EXAMS; i++) {
      const body = {
        properties: {
          mock_exam_name: `Naive ${RUN} #${i}`,
          mock_type: 'Clinical Skills',
          exam_date: '2026-12-05',
          capacity: '10000',
          total_bookings: '0',
          is_active: 'true',
        },
      }
      naiveExams.push(
        (
          await json<{ id: string }>(
            await fetch(`${emulator}/crm/v3/objects/${examsType}`, {
              method: 'POST',
              headers: naiveToken,
              body: JSON.stringify(body),
            }),
            'naive exam',
          )
        ).id,
      )
    }
    // A fresh rolling window: the exams' creates must not eat into the measured run's budget.
    await sleep(10_500)

    console.log(
      `hubmirror: ${CONCURRENCY} concurrent POST /api/bookings for ${DURATION_S} s; HubSpot limit ${RATE_LIMIT_10S}/10 s (ceiling ${CEILING} bookings/s at one call per booking)`,
    )
    const acknowledged = new Set<string>()
    const before = await stats()
    const cpuBefore = processCpuSeconds(server.process.pid!)
    const oursRun = await drive(CONCURRENCY, DURATION_S, async (n) => {
      const bookingId = `bench-${RUN}-${n}`
      const body = {
        examId: examIds[n % EXAMS],
        booking_id: bookingId,
        student_name: `Student ${n}`,
        student_email: `student${n}@example.com`,
        dominant_hand: 'right',
      }
      const res = await fetch(`${api}/api/bookings`, { method: 'POST', headers: auth, body: JSON.stringify(body) })
      const text = await res.text()
      if (res.status !== 201) return `${res.status} ${/"code":"(\w+)"/.exec(text)?.[1] ?? ''}`.trim()
      acknowledged.add(bookingId)
      return null
    })
    // The exam counter follows the answers: its last pushes belong to the run (calls, CPU, totals).
    await countersSettled(api)
    const serverCpuS = processCpuSeconds(server.process.pid!) - cpuBefore
    const ours: FlowResult = { ...oursRun, calls: diff(await stats(), before) }

    // Exactly once, counted in HubSpot (listing every booking; tokens rotate so that this check
    // never waits on the limit it is measuring) and through hubmirror's read API.
    const inHubSpot = new Map<string, number>()
    const perExamInHubSpot = new Map<string, number>()
    let after: string | undefined
    let page = 0
    do {
      const url = `${emulator}/crm/v3/objects/${bookingsType}?limit=100&properties=booking_id,mock_exam_id${after ? `&after=${after}` : ''}`
      const body = await json<{
        results: Array<{ properties: Record<string, string> }>
        paging?: { next: { after: string } }
      }>(
        await fetch(url, { headers: { authorization: `Bearer bench-verify-${Math.floor(page++ / 40)}` } }),
        'list bookings',
      )
      for (const { properties } of body.results) {
        if (!properties.booking_id?.startsWith(`bench-${RUN}-`)) continue
        inHubSpot.set(properties.booking_id, (inHubSpot.get(properties.booking_id) ?? 0) + 1)
        perExamInHubSpot.set(properties.mock_exam_id!, (perExamInHubSpot.get(properties.mock_exam_id!) ?? 0) + 1)
      }
      after = body.paging?.next.after
    } while (after)
    const inReplica = new Set<string>()
    const totalsSeen: Record<string, { hubspot: number; hubmirror: number; counted: number }> = {}
    for (const [i, examId] of examIds.entries()) {
      const { bookings } = await json<{ bookings: Array<{ booking_id: string }> }>(
        await fetch(`${api}/api/mock-exams/${examId}/bookings`, { headers: auth }),
        'read bookings',
      )
      for (const b of bookings) inReplica.add(b.booking_id)
      const { exam } = await json<{ exam: { total_bookings: number } }>(
        await fetch(`${api}/api/mock-exams/${examId}`, { headers: auth }),
        'read exam',
      )
      const hs = await json<{ properties: Record<string, string> }>(
        await fetch(`${emulator}/crm/v3/objects/${examsType}/${examId}?properties=total_bookings`, {
          headers: { authorization: `Bearer bench-verify-exam-${i}` },
        }),
        'get exam',
      )
      totalsSeen[examId] = {
        hubspot: Number(hs.properties.total_bookings),
        hubmirror: exam.total_bookings,
        counted: perExamInHubSpot.get(examId) ?? 0,
      }
    }
    const duplicates = [...inHubSpot.values()].filter((count) => count > 1).length
    const missingInHubSpot = [...acknowledged].filter((id) => !inHubSpot.has(id)).length
    const unacknowledgedInHubSpot = [...inHubSpot.keys()].filter((id) => !acknowledged.has(id)).length
    const missingInReplica = [...acknowledged].filter((id) => !inReplica.has(id)).length
    const readBack = Object.fromEntries(
      READ_ROUTES.map((route) => [route, routeCount(ours.calls.byRoute, route)]).filter(([, n]) => (n as number) > 0),
    )
    const exactlyOnce =
      duplicates === 0 && missingInHubSpot === 0 && missingInReplica === 0 && inReplica.size === acknowledged.size
    const countersRight = Object.values(totalsSeen).every((t) => t.hubspot === t.counted && t.hubmirror === t.counted)

    // The seed's flow, side by side on the same emulator with its own token (its exams were made
    // at the start): one POST per booking, one PATCH of the exam's count, retrying 429s with backoff.
    const counts = new Map<string, number>()
    const call = async (method: string, path: string, body: unknown): Promise<Response> => {
      for (let attempt = 0; ; attempt++) {
        const res = await fetch(emulator + path, { method, headers: naiveToken, body: JSON.stringify(body) })
        if (res.status !== 429 || attempt === 7) return res
        await res.arrayBuffer()
        await sleep(Math.min(10_000, 500 * 2 ** attempt) + Math.random() * 250)
      }
    }
    console.log(
      `seed's naive flow: ${CONCURRENCY} concurrent (POST booking + PATCH exam count) for ${NAIVE_DURATION_S} s`,
    )
    const naiveBefore = await stats()
    const naiveRun = await drive(CONCURRENCY, NAIVE_DURATION_S, async (n) => {
      const examId = naiveExams[n % EXAMS]!
      const created = await call('POST', `/crm/v3/objects/${bookingsType}`, {
        properties: {
          booking_id: `naive-${RUN}-${n}`,
          mock_exam_id: examId,
          student_name: `Student ${n}`,
          student_email: `student${n}@example.com`,
          booking_status: 'confirmed',
          is_active: 'true',
        },
      })
      await created.arrayBuffer()
      if (created.status !== 201) return `POST ${created.status}`
      const count = (counts.get(examId) ?? 0) + 1
      counts.set(examId, count)
      const patched = await call('PATCH', `/crm/v3/objects/${examsType}/${examId}`, {
        properties: { total_bookings: String(count) },
      })
      await patched.arrayBuffer()
      return patched.status === 200 ? null : `PATCH ${patched.status}`
    })
    const naive: FlowResult = { ...naiveRun, calls: diff(await stats(), naiveBefore) }

    const successCalls = (d: Delta) =>
      Object.entries(d.byStatus)
        .filter(([s]) => s.startsWith('2'))
        .reduce((sum, [, n]) => sum + n, 0)
    const createCalls = routeCount(ours.calls.byRoute, 'POST /crm/v3/objects/:type/batch/upsert')
    const counterCalls = routeCount(ours.calls.byRoute, 'POST /crm/v3/objects/:type/batch/update')
    const summary = (flow: FlowResult) => ({
      bookings: flow.created,
      bookingsPerSecond: flow.bookingsPerSecond,
      ofCeiling: round(flow.bookingsPerSecond / CEILING),
      hubspotCalls: flow.calls.total,
      callsPerBooking: flow.created ? round(flow.calls.total / flow.created, 4) : null,
      successfulCallsPerBooking: flow.created ? round(successCalls(flow.calls) / flow.created, 4) : null,
      status429: flow.calls.byStatus['429'] ?? 0,
      failed: flow.failed,
      p50Ms: flow.p50Ms,
      p99Ms: flow.p99Ms,
    })
    const figures = {
      benchmark: 'write-path',
      machine,
      settings: {
        hubmirrorDir: HUBMIRROR_DIR,
        rateLimit10s: RATE_LIMIT_10S,
        ceilingBookingsPerSecond: CEILING,
        concurrency: CONCURRENCY,
        durationS: DURATION_S,
        naiveDurationS: NAIVE_DURATION_S,
        exams: EXAMS,
      },
      hubmirror: {
        ...summary(ours),
        createCalls,
        counterCalls,
        bookingsPerCreateCall: createCalls ? round(ours.created / createCalls, 1) : null,
        // Server CPU per acknowledged booking: the A/B figure that a busy host moves least.
        serverCpuMsPerBooking: ours.created ? round((serverCpuS * 1000) / ours.created, 2) : null,
        attempted: ours.attempted,
        failures: ours.failures,
        elapsedS: ours.elapsedS,
        calls: ours.calls,
      },
      naive: {
        ...summary(naive),
        attempted: naive.attempted,
        failures: naive.failures,
        elapsedS: naive.elapsedS,
        calls: naive.calls,
      },
      minimum: {
        note: 'creates ride 100 per batch upsert; total_bookings updates are one batch update per counter flight (up to 100 exams)',
        createsOnly: 0.01,
        withOneCounterUpdatePerCreateBatch: 0.02,
        atThisConcurrency: round(2 / Math.min(100, CONCURRENCY), 4),
      },
      checks: {
        acknowledged: acknowledged.size,
        inHubSpot: inHubSpot.size,
        inReplicaViaApi: inReplica.size,
        duplicates,
        missingInHubSpot,
        missingInReplica,
        unacknowledgedInHubSpot,
        exactlyOnce,
        readBackCalls: readBack,
        noReadBack: Object.keys(readBack).length === 0,
        totalBookings: totalsSeen,
        countersRight,
      },
      passes: {
        ofCeiling: ours.bookingsPerSecond / CEILING >= GOALS.ofCeiling,
        exactlyOnce,
        noReadBack: Object.keys(readBack).length === 0,
        no429: (ours.calls.byStatus['429'] ?? 0) === 0,
      },
    }

    console.log(
      `\nWrite path — booking creates vs HubSpot's limit (${RATE_LIMIT_10S} calls / 10 s) — ${machineLine(machine)}`,
    )
    console.log(`load: ${machine.uptime}`)
    const row = (s: ReturnType<typeof summary>) => ({
      bookings: s.bookings,
      'bookings/s': s.bookingsPerSecond,
      '÷ ceiling': s.ofCeiling,
      'HubSpot calls': s.hubspotCalls,
      'calls/booking': s.callsPerBooking,
      '429s': s.status429,
      failed: s.failed,
      'p50 ms': s.p50Ms,
      'p99 ms': s.p99Ms,
    })
    console.table({
      [`hubmirror (batched, c=${CONCURRENCY})`]: row(figures.hubmirror),
      [`seed naive flow (POST + PATCH, c=${CONCURRENCY})`]: row(figures.naive),
      [`ceiling: 1 call/booking`]: {
        bookings: '—',
        'bookings/s': CEILING,
        '÷ ceiling': 1,
        'HubSpot calls': '—',
        'calls/booking': 1,
        '429s': '—',
        failed: '—',
        'p50 ms': '—',
        'p99 ms': '—',
      },
    })
    console.table({
      'hubmirror ÷ ceiling': {
        value: `${figures.hubmirror.ofCeiling}×`,
        goal: `≥ ${GOALS.ofCeiling}×`,
        pass: figures.passes.ofCeiling,
      },
      'hubmirror calls/booking': {
        value: figures.hubmirror.callsPerBooking,
        goal: `minimum: ${figures.minimum.createsOnly} creates + counter (${figures.minimum.withOneCounterUpdatePerCreateBatch}; ${figures.minimum.atThisConcurrency} at c=${CONCURRENCY})`,
        pass: '—',
      },
      'hubmirror batch upserts / counter updates': {
        value: `${createCalls} / ${counterCalls} (${figures.hubmirror.bookingsPerCreateCall} bookings per upsert)`,
        goal: '—',
        pass: '—',
      },
      'hubmirror server CPU per booking': {
        value: `${figures.hubmirror.serverCpuMsPerBooking} ms`,
        goal: '—',
        pass: '—',
      },
      'hubmirror 429s': { value: figures.hubmirror.status429, goal: '0', pass: figures.passes.no429 },
      'no read-back (GET/list/batch-read/search)': {
        value: JSON.stringify(readBack),
        goal: '{}',
        pass: figures.passes.noReadBack,
      },
      'exactly once (HubSpot, replica via API)': {
        value: `${acknowledged.size} acked, ${inHubSpot.size} in HubSpot, ${inReplica.size} via API, ${duplicates} dup`,
        goal: 'all equal, 0 dup',
        pass: exactlyOnce,
      },
      'total_bookings right (HubSpot and API)': { value: countersRight, goal: 'true', pass: countersRight },
    })
    const out = join(HERE, 'last-run.json')
    writeFileSync(out, JSON.stringify(figures, null, 2) + '\n')
    console.log(`written to ${out}`)
    if (!exactlyOnce || !figures.passes.noReadBack || !countersRight) process.exitCode = 1
  } finally {
    await stopAll()
    const redis = new Redis(REDIS_URL, { lazyConnect: true, maxRetriesPerRequest: 1 })
    await redis
      .connect()
      .then(async () => {
        const keys = await redis.keys(`${namespace}:*`)
        if (keys.length) await redis.del(...keys)
      })
      .catch((error) => console.warn(`could not clear Redis keys: ${(error as Error).message}`))
      .finally(() => redis.disconnect())
    await database.drop()
  }
}

await main()

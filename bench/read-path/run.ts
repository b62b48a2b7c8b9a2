// Benchmarks one exam's cached bookings read: hubmirror vs the seed's read path vs a bare route; writes last-run.json.
import { execFileSync } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { createServer } from 'node:http'
import { copyFileSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { Redis } from 'ioredis'
import { exportJWK, generateKeyPair, SignJWT } from 'jose'
import { issueToken } from '../../src/http/jwt.js'
import type { BookingRecord, ExamRecord } from '../../src/model/records.js'
import { migrate, openReplica, upsertBookings, upsertExams } from '../../src/replica/index.js'
import { makeBooking, makeExam } from '../../test/support/records.js'
import { freshDatabase } from '../support/database.js'
import { loadTest, wrkAvailable, type LoadResult } from '../support/load.js'
import { machineInfo, machineLine, round, uptimeLine } from '../support/machine.js'
import { childEnv, processCpuSeconds, freePort, startChild, stopAll, stopChildrenOnExit } from '../support/processes.js'

const HERE = dirname(fileURLToPath(import.meta.url))
const ROOT = resolve(HERE, '../..')
const WORK = join(ROOT, 'bench/.work')
const SEED_SRC = '/work/shared/baselines/seed-read-path'
const PG_URL = process.env.BENCH_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres'
const REDIS_URL = process.env.BENCH_REDIS_URL ?? 'redis://127.0.0.1:6379'
const DURATION_S = Number(process.env.BENCH_DURATION_S ?? 20)
const WARMUP_S = Number(process.env.BENCH_WARMUP_S ?? 5)
const CONNECTIONS = 64
const THREADS = 2
const BOOKINGS = 100
const GOALS = { vsSeed: 10, vsBare: 0.8, p99Ms: 10 }
const JWT_SECRET = randomBytes(24).toString('base64url')
const EXAM_ID = '20000000001'
/** BENCH_PROFILE=1: hubmirror runs under --cpu-prof, profiles land in bench/.work/profiles (read with bench/support/profile-summary.ts). */
/**
 * `--token es256`: hubmirror also verifies against a JWKS (served by this process, as Supabase Auth
 * would) and the hubmirror rows use an ES256 token; an HS256 row on the same server is added for
 * comparison under the same load. Default `hs256`.
 */
const TOKEN_KIND = (() => {
  const at = process.argv.indexOf('--token')
  const kind = at >= 0 ? process.argv[at + 1] : 'hs256'
  if (kind !== 'hs256' && kind !== 'es256') throw new Error(`--token: expected hs256 or es256, got ${kind}`)
  return kind
})()
const PROFILE_ARGS = process.env.BENCH_PROFILE ? ['--cpu-prof', '--cpu-prof-dir', join(WORK, 'profiles')] : []

interface Target {
  name: string
  url: string
  headers: Record<string, string>
  pid: number
}

interface Row {
  name: string
  requestsPerSecond: number
  p50Ms: number
  p99Ms: number
  responseBytes: number
  bookings: number
  non2xx: number
  socketErrors: number
  /** CPU the server process spent per request: unlike req/s, barely moved by other work on the host */
  serverCpuUsPerRequest: number
  /** Redis server CPU per request (hubmirror's batched MGET, the seed's GET); 0 when the server does not use Redis */
  redisCpuUsPerRequest: number
  tool: LoadResult['tool']
  loadavgDuring: string
}

/** A Supabase-like issuer: one ES256 key, its JWKS over HTTP, and a signed access token. */
async function startIssuer(): Promise<{ env: Record<string, string>; token: string; close(): void }> {
  const { privateKey, publicKey } = await generateKeyPair('ES256')
  const jwks = JSON.stringify({ keys: [{ ...(await exportJWK(publicKey)), kid: 'bench', alg: 'ES256', use: 'sig' }] })
  const server = createServer((_req, res) => res.writeHead(200, { 'content-type': 'application/json' }).end(jwks))
  const port = await freePort()
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve))
  const issuer = `http://127.0.0.1:${port}/auth/v1`
  const token = await new SignJWT({ role: 'authenticated', app_metadata: { permissions: ['exams.view'] } })
    .setProtectedHeader({ alg: 'ES256', kid: 'bench', typ: 'JWT' })
    .setIssuer(issuer)
    .setAudience('authenticated')
    .setSubject('bench-user')
    .setIssuedAt()
    .setExpirationTime('1h')
    .sign(privateKey)
  return {
    env: {
      HUBMIRROR_JWKS_URL: `${issuer}/.well-known/jwks.json`,
      HUBMIRROR_JWT_ISSUER: issuer,
      HUBMIRROR_JWT_AUDIENCE: 'authenticated',
    },
    token,
    close: () => server.close(),
  }
}

/** utime + stime of a process, in seconds (Linux /proc; fields 14 and 15 of stat). */

async function redisCpuS(redis: Redis): Promise<number> {
  const info = await redis.info('cpu')
  const read = (name: string) => Number(new RegExp(`^${name}:([\\d.]+)`, 'm').exec(info)?.[1] ?? Number.NaN)
  return read('used_cpu_user') + read('used_cpu_sys')
}

/** One exam and its 100 bookings, shaped like production rows (names, emails, ISO timestamps). */
function fixtures(): { exam: ExamRecord; bookings: BookingRecord[] } {
  const at = (minute: number) => new Date(Date.UTC(2026, 9, 1, 9, minute)).toISOString()
  const exam = makeExam({
    hubspot_id: EXAM_ID,
    capacity: 120,
    total_bookings: BOOKINGS,
    created_at: at(0),
    updated_at: at(0),
    hs_lastmodifieddate: at(0),
  })
  const bookings = Array.from({ length: BOOKINGS }, (_, i): BookingRecord =>
    makeBooking(exam, {
      hubspot_id: String(30000000000 + i),
      booking_id: `bk-${EXAM_ID}-${String(i).padStart(4, '0')}`,
      mock_exam_id: EXAM_ID,
      contact_id: String(10000000 + i),
      student_id: `S${String(240000 + i)}`,
      student_name: `Student Number${i}`,
      student_email: `student.number${i}@example.com`,
      booking_status: 'confirmed',
      is_active: 'true',
      attending_location: 'Mississauga',
      exam_date: '2026-12-05',
      dominant_hand: i % 7 === 0 ? 'left' : 'right',
      created_at: at(i + 1),
      updated_at: at(i + 1),
      hs_lastmodifieddate: at(i + 1),
    }),
  )
  return { exam, bookings }
}

async function seedReplica(databaseUrl: string): Promise<void> {
  const db = await openReplica({ databaseUrl, dataDir: WORK })
  try {
    await migrate(db)
    const { exam, bookings } = fixtures()
    await db.transaction(async (tx) => {
      await upsertExams(tx, [exam], 'sync')
      await upsertBookings(tx, bookings, 'sync')
    })
  } finally {
    await db.close()
  }
}

/** /work/shared is read-only: the seed's server is copied under bench/.work and installed there once. */
function prepareSeed(): string {
  const dir = join(WORK, 'seed-read-path')
  mkdirSync(dir, { recursive: true })
  const lockChanged =
    !existsSync(join(dir, 'package-lock.json')) ||
    !readFileSync(join(dir, 'package-lock.json')).equals(readFileSync(join(SEED_SRC, 'package-lock.json')))
  for (const file of ['package.json', 'package-lock.json', 'server.js'])
    copyFileSync(join(SEED_SRC, file), join(dir, file))
  if (lockChanged || !existsSync(join(dir, 'node_modules'))) {
    console.log('installing the seed baseline (npm ci) ...')
    execFileSync('npm', ['ci', '--no-audit', '--no-fund', '--loglevel=error'], { cwd: dir, stdio: 'inherit' })
  }
  return dir
}

async function startHubmirror(
  name: string,
  env: Record<string, string | undefined>,
): Promise<{ base: string; pid: number }> {
  const port = await freePort()
  const { child } = await startChild(name, process.execPath, [...PROFILE_ARGS, 'bin/hubmirror.js', 'serve'], {
    cwd: ROOT,
    // SYNC_*: no on-access or watched pull may start during the run; the replica is seeded directly.
    env: childEnv(
      {
        ...env,
        PORT: String(port),
        HOST: '127.0.0.1',
        HUBMIRROR_JWT_SECRET: JWT_SECRET,
        SYNC_STALE_AFTER: '1h',
        SYNC_LIVE_INTERVAL: '1h',
      },
      ['LOG_LEVEL', 'NODE_OPTIONS'],
    ),
    ready: /hubmirror is running/,
  })
  return { base: `http://127.0.0.1:${port}`, pid: child.process.pid! }
}

async function fetchBody(target: Target): Promise<Buffer> {
  const res = await fetch(target.url, { headers: target.headers })
  if (res.status !== 200) throw new Error(`${target.name}: GET ${target.url} → ${res.status} ${await res.text()}`)
  return Buffer.from(await res.arrayBuffer())
}

function bookingIds(body: Buffer, name: string): string[] {
  const parsed = JSON.parse(body.toString('utf8')) as { success?: boolean; bookings?: Array<{ hubspot_id: string }> }
  if (parsed.success !== true || !Array.isArray(parsed.bookings))
    throw new Error(`${name}: not a {success, bookings} envelope`)
  return parsed.bookings.map((b) => String(b.hubspot_id)).sort()
}

async function scrapeCacheStats(base: string): Promise<Record<string, number>> {
  const scraper = issueToken(JWT_SECRET, ['metrics.read'], { ttlSeconds: 600 })
  const text = await (await fetch(`${base}/metrics`, { headers: { authorization: `Bearer ${scraper}` } })).text()
  const stats: Record<string, number> = {}
  for (const match of text.matchAll(/^hubmirror_cache_lookups\{kind="(\w+)"\} (\S+)$/gm))
    stats[match[1]!] = Number(match[2])
  return stats
}

async function clearRedis(namespace: string): Promise<void> {
  const redis = new Redis(REDIS_URL, { lazyConnect: true, maxRetriesPerRequest: 1 })
  try {
    await redis.connect()
    const keys = [`seed:bookings:${EXAM_ID}`]
    let cursor = '0'
    do {
      const [next, found] = await redis.scan(cursor, 'MATCH', `${namespace}:*`, 'COUNT', 1000)
      keys.push(...found)
      cursor = next
    } while (cursor !== '0')
    await redis.del(...keys)
  } finally {
    redis.disconnect()
  }
}

async function main(): Promise<void> {
  stopChildrenOnExit()
  const startedAt = machineInfo()
  mkdirSync(WORK, { recursive: true })
  const seedDir = prepareSeed()
  const database = await freshDatabase(PG_URL, 'hm_bench_read')
  const namespace = `hmbench-${randomBytes(4).toString('hex')}`
  const dataDir = join(WORK, 'read-path-data')
  try {
    await seedReplica(database.url)
    const emulator = await startChild(
      'emulator',
      process.execPath,
      ['bin/hubmirror.js', 'emulator', '--port', '0', '--data-dir', 'none', '--seed', 'none'],
      {
        cwd: ROOT,
        env: childEnv({}),
        ready: /HubSpot emulator: (http\S+)/,
      },
    )
    const issuer = TOKEN_KIND === 'es256' ? await startIssuer() : null
    const hubspot = {
      ...issuer?.env,
      HUBSPOT_ACCESS_TOKEN: 'bench',
      HUBSPOT_BASE_URL: emulator.match[1]!,
      HUBMIRROR_DATA_DIR: dataDir,
      DATABASE_URL: database.url,
    }
    const withRedis = await startHubmirror('hubmirror (Redis)', {
      ...hubspot,
      REDIS_URL,
      HUBMIRROR_REDIS_NAMESPACE: namespace,
    })
    const withoutRedis = await startHubmirror('hubmirror (in-process)', { ...hubspot, REDIS_URL: undefined })
    const seedPort = await freePort()
    const seedServer = await startChild('seed', process.execPath, ['server.js'], {
      cwd: seedDir,
      env: childEnv({ DATABASE_URL: database.url, REDIS_URL, PORT: String(seedPort) }, ['NODE_OPTIONS']),
      ready: /listening on/,
    })

    const path = `/api/mock-exams/${EXAM_ID}/bookings`
    const hs256 = { authorization: `Bearer ${issueToken(JWT_SECRET, ['exams.view'], { ttlSeconds: 3600 })}` }
    const auth = issuer ? { authorization: `Bearer ${issuer.token}` } : hs256
    const kind = issuer ? ', ES256 token from a JWKS' : ''
    const hubmirror: Target = {
      name: `hubmirror (cache: Redis + in-process${kind})`,
      url: withRedis.base + path,
      headers: auth,
      pid: withRedis.pid,
    }
    const hubmirrorMemory: Target = {
      name: `hubmirror (cache: in-process only${kind})`,
      url: withoutRedis.base + path,
      headers: auth,
      pid: withoutRedis.pid,
    }
    const seed: Target = {
      name: 'seed read path (Express + ioredis + JSON.parse)',
      url: `http://127.0.0.1:${seedPort}${path}`,
      headers: {},
      pid: seedServer.child.process.pid!,
    }

    // The bare route serves hubmirror's exact bytes, fetched once.
    const hubmirrorBody = await fetchBody(hubmirror)
    const bodyFile = join(WORK, 'read-path-body.json')
    writeFileSync(bodyFile, hubmirrorBody)
    const barePort = await freePort()
    const bareServer = await startChild(
      'bare',
      process.execPath,
      ['--import', 'tsx', join(HERE, 'bare-server.ts'), '--body', bodyFile, '--port', String(barePort)],
      {
        cwd: ROOT,
        env: childEnv({}, ['NODE_OPTIONS']),
        ready: /bare server: (http\S+)/,
      },
    )
    const bare: Target = {
      name: 'bare Fastify route (bytes from memory)',
      url: `http://127.0.0.1:${barePort}${path}`,
      headers: {},
      pid: bareServer.child.process.pid!,
    }
    // The same server with an HS256 token, measured under the same load as the ES256 rows.
    const hubmirrorHs256: Target = {
      ...hubmirror,
      name: 'hubmirror (cache: Redis + in-process, HS256 token)',
      headers: hs256,
    }
    const targets = [hubmirror, hubmirrorMemory, seed, bare, ...(issuer ? [hubmirrorHs256] : [])]

    // Honesty check: every server answers the same 100 bookings (parsed once, before the load).
    const expected = bookingIds(hubmirrorBody, hubmirror.name)
    const sizes = new Map<Target, number>()
    for (const target of targets) {
      const body = await fetchBody(target)
      const ids = bookingIds(body, target.name)
      if (ids.length !== BOOKINGS || ids.join() !== expected.join())
        throw new Error(`${target.name} answered ${ids.length} bookings, not the same ${BOOKINGS}`)
      sizes.set(target, body.length)
    }
    if (!(await fetchBody(hubmirrorMemory)).equals(hubmirrorBody))
      throw new Error('hubmirror with and without Redis answered different bytes')

    const tool = (await wrkAvailable()) ? 'wrk' : 'autocannon'
    console.log(
      `${tool} -t${THREADS} -c${CONNECTIONS}: ${WARMUP_S} s warm-up + ${DURATION_S} s measured per server, one server at a time`,
    )
    const rows: Row[] = []
    const redis = new Redis(REDIS_URL)
    for (const target of targets) {
      await loadTest(target.url, {
        threads: THREADS,
        connections: CONNECTIONS,
        durationS: WARMUP_S,
        headers: target.headers,
      })
      const cpuBefore = processCpuSeconds(target.pid)
      const redisBefore = await redisCpuS(redis)
      const result = await loadTest(target.url, {
        threads: THREADS,
        connections: CONNECTIONS,
        durationS: DURATION_S,
        headers: target.headers,
      })
      const cpuS = processCpuSeconds(target.pid) - cpuBefore
      const usesRedis = target === hubmirror || target === hubmirrorHs256 || target === seed
      const redisS = usesRedis ? (await redisCpuS(redis)) - redisBefore : 0
      rows.push({
        name: target.name,
        requestsPerSecond: Math.round(result.requestsPerSecond),
        p50Ms: round(result.p50Ms),
        p99Ms: round(result.p99Ms),
        responseBytes: sizes.get(target)!,
        bookings: BOOKINGS,
        non2xx: result.non2xx,
        socketErrors: result.socketErrors,
        serverCpuUsPerRequest: round((cpuS * 1e6) / result.requests, 1),
        redisCpuUsPerRequest: round((redisS * 1e6) / result.requests, 1),
        tool: result.tool,
        loadavgDuring: uptimeLine().replace(/^.*load average:\s*/, ''),
      })
      const row = rows.at(-1)!
      console.log(
        `  ${target.name}: ${row.requestsPerSecond} req/s, p50 ${row.p50Ms} ms, p99 ${row.p99Ms} ms, ${row.serverCpuUsPerRequest} µs CPU/req (load ${row.loadavgDuring})`,
      )
    }
    redis.disconnect()
    const cacheStats = {
      redis: await scrapeCacheStats(withRedis.base),
      inProcess: await scrapeCacheStats(withoutRedis.base),
    }

    const [ours, oursMemory, seedRow, bareRow] = rows as [Row, Row, Row, Row]
    const ratios = {
      hubmirrorOverSeed: {
        value: round(ours.requestsPerSecond / seedRow.requestsPerSecond),
        goal: `≥ ${GOALS.vsSeed}×`,
      },
      hubmirrorOverBare: {
        value: round(ours.requestsPerSecond / bareRow.requestsPerSecond),
        goal: `≥ ${GOALS.vsBare}×`,
      },
      hubmirrorP99Ms: { value: ours.p99Ms, goal: `≤ ${GOALS.p99Ms} ms` },
      inProcessOnlyOverSeed: { value: round(oursMemory.requestsPerSecond / seedRow.requestsPerSecond) },
      inProcessOnlyOverBare: { value: round(oursMemory.requestsPerSecond / bareRow.requestsPerSecond) },
      // CPU per request (server + its Redis share): the same comparison, far less sensitive to a busy host.
      cpuBareOverHubmirror: {
        value: round(bareRow.serverCpuUsPerRequest / (ours.serverCpuUsPerRequest + ours.redisCpuUsPerRequest)),
      },
      cpuSeedOverHubmirror: {
        value: round(
          (seedRow.serverCpuUsPerRequest + seedRow.redisCpuUsPerRequest) /
            (ours.serverCpuUsPerRequest + ours.redisCpuUsPerRequest),
        ),
      },
    }
    const passes = {
      vsSeed: ratios.hubmirrorOverSeed.value >= GOALS.vsSeed,
      vsBare: ratios.hubmirrorOverBare.value >= GOALS.vsBare,
      p99: ours.p99Ms <= GOALS.p99Ms,
    }
    const finishedAt = machineInfo()
    const figures = {
      benchmark: 'read-path',
      token: TOKEN_KIND,
      machine: { ...startedAt, uptimeAtEnd: finishedAt.uptime, loadavgAtEnd: finishedAt.loadavg },
      load: { tool, threads: THREADS, connections: CONNECTIONS, warmupS: WARMUP_S, durationS: DURATION_S },
      data: {
        examId: EXAM_ID,
        bookings: BOOKINGS,
        postgres: 'fresh database on ' + new URL(PG_URL).host,
        redis: new URL(REDIS_URL).host,
      },
      rows,
      ratios,
      passes,
      cacheStats,
      reference: {
        note: 'issue 2, same kind of 2-core machine, wrk -c64, 47 KB response',
        seedRequestsPerSecond: 1700,
        bareRequestsPerSecond: 20800,
      },
    }

    console.log(`\nRead path — GET ${path} (${BOOKINGS} bookings) — ${machineLine(startedAt)}`)
    console.log(`load: ${startedAt.uptime}`)
    console.table(
      Object.fromEntries(
        rows.map((r) => [
          r.name,
          {
            'req/s': r.requestsPerSecond,
            'p50 ms': r.p50Ms,
            'p99 ms': r.p99Ms,
            bytes: r.responseBytes,
            bookings: r.bookings,
            'CPU µs/req': r.serverCpuUsPerRequest,
            'Redis µs/req': r.redisCpuUsPerRequest,
            'non-2xx': r.non2xx,
            errors: r.socketErrors,
          },
        ]),
      ),
    )
    console.table({
      'hubmirror ÷ seed (req/s)': {
        value: `${ratios.hubmirrorOverSeed.value}×`,
        goal: ratios.hubmirrorOverSeed.goal,
        pass: passes.vsSeed,
      },
      'hubmirror ÷ bare (req/s)': {
        value: `${ratios.hubmirrorOverBare.value}×`,
        goal: ratios.hubmirrorOverBare.goal,
        pass: passes.vsBare,
      },
      'hubmirror p99': { value: `${ours.p99Ms} ms`, goal: ratios.hubmirrorP99Ms.goal, pass: passes.p99 },
      // What the same load gets from a route that does nothing: the floor for p99 on this host now.
      'bare route p99 (floor here)': { value: `${bareRow.p99Ms} ms`, goal: '—', pass: '—' },
      'in-process only ÷ seed': { value: `${ratios.inProcessOnlyOverSeed.value}×`, goal: '—', pass: '—' },
      'in-process only ÷ bare': { value: `${ratios.inProcessOnlyOverBare.value}×`, goal: '—', pass: '—' },
      'CPU/req: bare ÷ hubmirror': { value: `${ratios.cpuBareOverHubmirror.value}×`, goal: '—', pass: '—' },
      'CPU/req: seed ÷ hubmirror': { value: `${ratios.cpuSeedOverHubmirror.value}×`, goal: '—', pass: '—' },
    })
    console.log(
      `cache lookups: Redis instance ${JSON.stringify(cacheStats.redis)}; in-process instance ${JSON.stringify(cacheStats.inProcess)}`,
    )
    issuer?.close()
    const out = join(HERE, issuer ? 'last-run-es256.json' : 'last-run.json')
    writeFileSync(out, JSON.stringify(figures, null, 2) + '\n')
    console.log(`written to ${out}`)
    if (rows.some((r) => r.non2xx > 0 || r.socketErrors > 0)) process.exitCode = 1
  } finally {
    await stopAll()
    await clearRedis(namespace).catch((error) =>
      console.warn(`could not clear Redis keys: ${(error as Error).message}`),
    )
    await database.drop()
  }
}

await main()

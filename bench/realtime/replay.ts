// Benchmarks backlog replay: N SSE subscribers resuming 20,000 events behind, and chained long-polls; A/B against older code.
//
//   BENCH_BEFORE_DIR=<checkout of older code> node --import tsx bench/realtime/replay.ts
//
// Each side is its own server process (bench/realtime/replay-server.ts importing the product from
// this tree or from BENCH_BEFORE_DIR) on its own fresh database, seeded with the same bookings. The
// rounds alternate between the sides so that both see the same load on a shared host. The figure
// to compare is CPU per 1,000 events delivered: the server's (from /proc/<pid>/stat) and, on
// Postgres, that of the database's backends, so that no cost can move into the database unseen.
import { randomBytes } from 'node:crypto'
import { writeFileSync } from 'node:fs'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import pg from 'pg'
import { issueToken } from '../../src/http/jwt.js'
import { freshDatabase, type BenchDatabase } from '../support/database.js'
import { machineInfo, machineLine, round, uptimeLine } from '../support/machine.js'
import { postgresCpu, postgresCpuDelta } from '../support/postgres-cpu.js'
import { processCpuSeconds } from '../support/processes.js'
import { spawnWorker, stopWorkers, type Worker } from './ipc.js'

const HERE = dirname(fileURLToPath(import.meta.url))
const EVENTS = Number(process.env.BENCH_REPLAY_EVENTS ?? 20_000)
const SUBSCRIBERS = Number(process.env.BENCH_REPLAY_SUBSCRIBERS ?? 10)
const POLLERS = Number(process.env.BENCH_REPLAY_POLLERS ?? 4)
const ROUNDS = Number(process.env.BENCH_REPLAY_ROUNDS ?? 2)
const PG_URL = process.env.BENCH_PGLITE
  ? null
  : (process.env.BENCH_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres')
const SIDES = [
  { name: 'ours', dir: resolve(HERE, '../..') },
  ...(process.env.BENCH_BEFORE_DIR ? [{ name: 'before', dir: resolve(process.env.BENCH_BEFORE_DIR) }] : []),
]

interface Side {
  name: string
  dir: string
  server: Worker
  pid: number
  url: URL
  database: BenchDatabase | null
  from: string
  head: string
}

interface Row {
  round: number
  side: string
  transport: 'SSE (resumed)' | 'long-poll (chained)'
  clients: number
  eventsDelivered: number
  /** Deliveries short of clients × backlog, or cut off as slow readers (must be 0). */
  missing: number
  wallMs: number
  serverCpuS: number
  serverCpuSPer1kEvents: number
  /** null on PGlite (it runs inside the server process, so its CPU is in the server's). */
  postgresCpuSPer1kEvents: number | null
  bytesPerEvent: number
}

/** The CPU seconds of every Postgres backend connected to the side's database, by pid (none on PGlite). */
async function backendCpu(admin: pg.Client | null, database: BenchDatabase | null): Promise<Map<number, number>> {
  return admin && database ? postgresCpu(admin, database.name) : new Map()
}

async function measure(
  side: Side,
  admin: pg.Client | null,
  run: () => Promise<{ delivered: number; missing: number; bytes: number; clients: number }>,
): Promise<Omit<Row, 'round' | 'side' | 'transport'>> {
  const pgBefore = await backendCpu(admin, side.database)
  const cpuBefore = processCpuSeconds(side.pid)
  const started = performance.now()
  const result = await run()
  const wallMs = performance.now() - started
  const serverCpuS = processCpuSeconds(side.pid) - cpuBefore
  const postgresCpuS = admin ? postgresCpuDelta(pgBefore, await backendCpu(admin, side.database)) : null
  const per1k = (seconds: number) => round((seconds * 1000) / Math.max(1, result.delivered), 4)
  return {
    clients: result.clients,
    eventsDelivered: result.delivered,
    missing: result.missing,
    wallMs: Math.round(wallMs),
    serverCpuS: round(serverCpuS, 2),
    serverCpuSPer1kEvents: per1k(serverCpuS),
    postgresCpuSPer1kEvents: postgresCpuS === null ? null : per1k(postgresCpuS),
    bytesPerEvent: Math.round(result.bytes / Math.max(1, result.delivered)),
  }
}

function printTable(rows: Row[]): void {
  const header = [
    'round',
    'side',
    'transport',
    'clients',
    'events',
    'missing',
    'wall ms',
    'CPU s',
    'CPU s/1k',
    'PG CPU s/1k',
    'B/event',
  ]
  const lines = rows.map((r) =>
    [
      r.round,
      r.side,
      r.transport,
      r.clients,
      r.eventsDelivered,
      r.missing,
      r.wallMs,
      r.serverCpuS,
      r.serverCpuSPer1kEvents,
      r.postgresCpuSPer1kEvents ?? '—',
      r.bytesPerEvent,
    ].map(String),
  )
  const widths = header.map((h, i) => Math.max(h.length, ...lines.map((l) => l[i].length)))
  const format = (cells: string[]) =>
    cells.map((c, i) => (i < 3 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  ')
  console.log(format(header))
  for (const line of lines) console.log(format(line))
}

function summary(rows: Row[]) {
  const transports = [...new Set(rows.map((r) => r.transport))]
  return transports.map((transport) => {
    const mean = (side: string, pick: (r: Row) => number | null) => {
      const values = rows
        .filter((r) => r.transport === transport && r.side === side)
        .map(pick)
        .filter((v): v is number => v !== null)
      return values.length ? round(values.reduce((a, b) => a + b, 0) / values.length, 4) : null
    }
    const ours = mean('ours', (r) => r.serverCpuSPer1kEvents)
    const before = mean('before', (r) => r.serverCpuSPer1kEvents)
    return {
      transport,
      oursServerCpuSPer1k: ours,
      beforeServerCpuSPer1k: before,
      oursDividedByBefore: ours !== null && before ? round(ours / before, 3) : null,
      oursPostgresCpuSPer1k: mean('ours', (r) => r.postgresCpuSPer1kEvents),
      beforePostgresCpuSPer1k: mean('before', (r) => r.postgresCpuSPer1kEvents),
    }
  })
}

async function main(): Promise<void> {
  for (const signal of ['SIGINT', 'SIGTERM'] as const)
    process.once(signal, () => void stopWorkers().finally(() => process.exit(130)))
  const started = machineInfo()
  const secret = randomBytes(24).toString('base64url')
  const token = issueToken(secret, ['exams.view'], { ttlSeconds: 3_600 })
  const admin = PG_URL ? new pg.Client({ connectionString: PG_URL }) : null
  await admin?.connect()
  const sides: Side[] = []
  const databases: BenchDatabase[] = []
  try {
    for (const { name, dir } of SIDES) {
      const database = PG_URL ? await freshDatabase(PG_URL, 'hm_bench_replay') : null
      if (database) databases.push(database)
      const { worker, hello } = await spawnWorker(`server-${name}`, join(HERE, 'replay-server.ts'), [], {
        BENCH_JWT_SECRET: secret,
        BENCH_APP_DIR: dir,
        ...(database ? { BENCH_DATABASE_URL: database.url } : {}),
      })
      const seeded = await worker.call<{ from: string; head: string }>('seed', { events: EVENTS })
      sides.push({
        name,
        dir,
        server: worker,
        pid: Number(hello.pid),
        url: new URL(String(hello.url)),
        database,
        ...seeded,
      })
      console.log(`  ${name}: ${dir} (${String(hello.database)}), backlog (${seeded.from}, ${seeded.head}]`)
    }
    const { worker: clients } = await spawnWorker('replay-clients', join(HERE, 'replay-clients.ts'))
    console.log(
      `replay of ${EVENTS} events on ${machineLine(started)}; ${SUBSCRIBERS} resumed SSE subscribers, ${POLLERS} long-pollers; load: ${started.uptime}\n`,
    )
    const rows: Row[] = []
    for (let round = 1; round <= ROUNDS; round++) {
      // Alternate which side goes first, so that neither always follows the other's work.
      const order = round % 2 ? sides : [...sides].reverse()
      for (const side of order) {
        const sse = await measure(side, admin, async () => {
          const path = `/api/events?after=${side.from}&access_token=${token}`
          const streams = await clients.call<{ frames: number; bytes: number; dropped: boolean }[]>('sse', {
            host: side.url.hostname,
            port: Number(side.url.port),
            path,
            count: SUBSCRIBERS,
          })
          const delivered = streams.reduce((n, s) => n + s.frames, 0)
          const dropped = streams.filter((s) => s.dropped).length
          return {
            clients: streams.length,
            delivered,
            missing: SUBSCRIBERS * EVENTS - delivered + dropped,
            bytes: streams.reduce((n, s) => n + s.bytes, 0),
          }
        })
        rows.push({ round, side: side.name, transport: 'SSE (resumed)', ...sse })
        console.log(`  round ${round} ${side.name} SSE: ${sse.serverCpuSPer1kEvents} CPU s/1k events, ${sse.wallMs} ms`)
        const poll = await measure(side, admin, async () => {
          const chains = await clients.call<{ events: number; bytes: number }[]>('longPoll', {
            url: side.url.origin,
            after: side.from,
            head: side.head,
            token,
            count: POLLERS,
          })
          const delivered = chains.reduce((n, c) => n + c.events, 0)
          return {
            clients: chains.length,
            delivered,
            missing: POLLERS * EVENTS - delivered,
            bytes: chains.reduce((n, c) => n + c.bytes, 0),
          }
        })
        rows.push({ round, side: side.name, transport: 'long-poll (chained)', ...poll })
        console.log(
          `  round ${round} ${side.name} long-poll: ${poll.serverCpuSPer1kEvents} CPU s/1k events, ${poll.wallMs} ms`,
        )
      }
    }
    console.log('')
    printTable(rows)
    const ratios = summary(rows)
    for (const r of ratios) console.log(`  ${JSON.stringify(r)}`)
    const result = {
      benchmark: 'realtime backlog replay: resumed SSE subscribers and chained long-polls, server CPU per 1,000 events',
      machine: started,
      loadAfter: uptimeLine(),
      database: PG_URL ? 'pg' : 'pglite',
      backlogEvents: EVENTS,
      sides: sides.map(({ name, dir }) => ({ name, dir })),
      rows,
      summary: ratios,
    }
    writeFileSync(join(HERE, 'last-run-replay.json'), JSON.stringify(result, null, 2) + '\n')
    console.log(`\nwrote bench/realtime/last-run-replay.json (${result.loadAfter})`)
    for (const side of sides) await side.server.call('stop').catch(() => undefined)
  } finally {
    await stopWorkers()
    await admin?.end()
    for (const database of databases) await database.drop().catch(() => undefined)
  }
}

await main()

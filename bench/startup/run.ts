// Start-up against a distant database: whole `hubmirror` commands over a link with a hosted database's round trip, against a bare connect-and-query.
import { spawn } from 'node:child_process'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { runCli, type CliRun } from '../scale/cli.js'
import { freshDatabase } from '../support/database.js'
import { latencyLink, throughLink, type LatencyLink } from '../support/latency-link.js'
import { machineInfo, machineLine } from '../support/machine.js'
import { childEnv, freePort, startChild, stopAll, stopChildrenOnExit } from '../support/processes.js'
import { dropRedisKeys } from '../../test/support/redis-keys.js'

const HERE = fileURLToPath(new URL('.', import.meta.url))
const ROOT = resolve(HERE, '../..')
const ADMIN_URL = process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres'
/** Round trips to the database: the same region (a few ms), another region, another continent. */
const RTTS_MS = (process.argv.find((a) => a.startsWith('--rtt='))?.slice(6) ?? '2,30,100').split(',').map(Number)
const RUNS = Number(process.argv.find((a) => a.startsWith('--runs='))?.slice(7) ?? 3)
const OUT = resolve(process.env.BENCH_OUT ?? join(HERE, 'last-run.json'))

/** The floor a command cannot go under: a Node process that connects through the same link and runs one query. */
const FLOOR_SCRIPT = `
import pg from 'pg'
const client = new pg.Client({ connectionString: process.env.DATABASE_URL })
await client.connect()
await client.query('SELECT 1')
await client.end()`

interface Timed {
  ms: number
  roundTrips: number
}

function log(line: string): void {
  console.log(`[${new Date().toISOString().slice(11, 19)}] ${line}`)
}

async function floorRun(databaseUrl: string): Promise<number> {
  const started = performance.now()
  const child = spawn(process.execPath, ['--input-type=module', '-e', FLOOR_SCRIPT], {
    cwd: ROOT,
    env: { ...process.env, DATABASE_URL: databaseUrl },
    stdio: ['ignore', 'ignore', 'inherit'],
  })
  const code = await new Promise<number | null>((done) => child.once('exit', done))
  if (code !== 0) throw new Error(`the floor's connect-and-query exited ${code}`)
  return performance.now() - started
}

/** From the spawn of `hubmirror serve` to its "running" line (it is listening and its replica is ready), then stopped. */
async function serveStart(env: Record<string, string | undefined>): Promise<number> {
  const started = performance.now()
  const { child } = await startChild('serve', process.execPath, [join(ROOT, 'bin/hubmirror.js'), 'serve'], {
    cwd: ROOT,
    env: { ...env, PORT: String(await freePort()), HOST: '127.0.0.1' },
    ready: /hubmirror is running/,
  })
  const ms = performance.now() - started
  await child.stop()
  return ms
}

async function timed(link: LatencyLink, run: () => Promise<number | CliRun>): Promise<Timed> {
  link.reset()
  const result = await run()
  if (typeof result === 'number') return { ms: result, roundTrips: link.clientChunks() }
  if (result.code !== 0) throw new Error(`hubmirror exited ${result.code}:\n${result.stderr.slice(-2000)}`)
  return { ms: result.ms, roundTrips: link.clientChunks() }
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!
const summary = (runs: Timed[], floorMs: number) => ({
  msMedian: Math.round(median(runs.map((r) => r.ms))),
  msRange: [Math.round(Math.min(...runs.map((r) => r.ms))), Math.round(Math.max(...runs.map((r) => r.ms)))],
  roundTrips: median(runs.map((r) => r.roundTrips)),
  ofFloor: Math.round((median(runs.map((r) => r.ms)) / floorMs) * 100) / 100,
})

stopChildrenOnExit()
const machine = machineInfo()
log(
  `start-up bench — round trips ${RTTS_MS.join(', ')} ms, ${RUNS} runs each; ${machineLine(machine)}; ${machine.uptime}`,
)
const { child: emulator, match } = await startChild(
  'emulator',
  process.execPath,
  [join(ROOT, 'bin/hubmirror.js'), 'emulator', '--port', '0', '--data-dir', 'none', '--seed', 'demo'],
  { cwd: ROOT, env: childEnv({}), ready: /HubSpot emulator: (http\S+)/ },
)
const results: Record<string, unknown> = {}
const dataDir = mkdtempSync(join(tmpdir(), 'hubmirror-bench-startup-'))
const databases: Array<{ drop(): Promise<void> }> = []
try {
  const target = Number(new URL(ADMIN_URL).port || 5432)
  for (const rtt of RTTS_MS) {
    const link = await latencyLink(target, rtt / 2)
    try {
      const database = await freshDatabase(ADMIN_URL, 'bench_startup')
      databases.push(database)
      const url = throughLink(database.url, link)
      const env = childEnv(
        {
          DATABASE_URL: url,
          HUBSPOT_BASE_URL: match[1],
          HUBMIRROR_REDIS_NAMESPACE: `bench_startup_${process.pid}_${rtt}`,
          HUBMIRROR_DATA_DIR: dataDir,
          HUBMIRROR_JWT_SECRET: 'bench-secret-bench-secret-bench-secret',
        },
        [
          'LOG_LEVEL',
          'NODE_OPTIONS',
          'HUBSPOT_ACCESS_TOKEN',
          'HUBSPOT_RATE_LIMIT_10S',
          'HUBSPOT_SEARCH_RATE_S',
          'DATABASE_DIRECT_URL',
        ],
      )
      const floor: Timed[] = []
      const fresh: Timed[] = []
      const upToDate: Timed[] = []
      const sync: Timed[] = []
      const serve: Timed[] = []
      for (let i = 0; i < RUNS; i++) {
        // A first start: every migration applied, each in its own fresh database.
        const empty = await freshDatabase(ADMIN_URL, 'bench_startup')
        databases.push(empty)
        fresh.push(
          await timed(link, () =>
            runCli(['db', 'migrate'], { env: { ...env, DATABASE_URL: throughLink(empty.url, link) } }),
          ),
        )
        await empty.drop()
      }
      await timed(link, () => runCli(['db', 'migrate'], { env }))
      // The first pull loads the demo data; the runs after it find nothing changed, as most starts do.
      await timed(link, () => runCli(['sync'], { env }))
      for (let i = 0; i < RUNS; i++) {
        floor.push(await timed(link, () => floorRun(url)))
        upToDate.push(await timed(link, () => runCli(['db', 'migrate'], { env })))
        sync.push(await timed(link, () => runCli(['sync'], { env })))
        serve.push(await timed(link, () => serveStart(env)))
      }
      const floorMs = median(floor.map((r) => r.ms))
      const row = {
        floor: summary(floor, floorMs),
        firstMigrate: summary(fresh, floorMs),
        migrateUpToDate: summary(upToDate, floorMs),
        syncNothingChanged: summary(sync, floorMs),
        serveUntilRunning: summary(serve, floorMs),
      }
      results[`rtt${rtt}ms`] = row
      log(`round trip ${rtt} ms: ${JSON.stringify(row)}`)
    } finally {
      await link.close()
    }
  }
} finally {
  await emulator.stop()
  await stopAll()
  for (const database of databases) await database.drop().catch(() => undefined)
  rmSync(dataDir, { recursive: true, force: true })
  await dropRedisKeys(process.env.REDIS_URL, `bench_startup_${process.pid}_`)
}
writeFileSync(OUT, JSON.stringify({ machine, runs: RUNS, results }, null, 2) + '\n')
log(`written to ${OUT}`)

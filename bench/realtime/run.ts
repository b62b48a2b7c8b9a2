// Benchmarks realtime fan-out: N SSE and WebSocket clients of hubmirror vs a socket.io broadcast server; writes last-run.json.
import { percentile } from '../support/stats.js'
import { setTimeout as sleep } from 'node:timers/promises'
//
//   node --import tsx bench/realtime/run.ts [--clients 10000,18000] [--transports sse,ws,socket.io] [--client-procs 3]
//   (or BENCH_CLIENTS / BENCH_ONLY / BENCH_CLIENT_PROCS)
//
// Processes: this orchestrator, one server (hubmirror + socket.io, fed by the same commits) and
// BENCH_CLIENT_PROCS client processes (default 2) with raw-TCP SSE / raw engine.io clients. Each
// child raises its open-files limit to the hard limit (10k clients need ~10k descriptors in the
// server: `ulimit -Hn` must allow it). Latency is commit-to-receipt: the writer stamps each row with
// the time its commit was due (README.md: coordinated omission), the client subtracts it from the
// time it read it.
import { randomBytes } from 'node:crypto'
import { availableParallelism } from 'node:os'
import { readFileSync, writeFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { issueToken } from '../../src/http/jwt.js'
import { startPrivatePgBouncer, type PrivatePgBouncer } from '../../test/support/private-services.js'
import { freshDatabase, type BenchDatabase } from '../support/database.js'
import { machineInfo, machineLine, round, uptimeLine } from '../support/machine.js'
import { spawnWorker, stopWorkers, type Worker } from './ipc.js'

const HERE = dirname(fileURLToPath(import.meta.url))
/** `--name value` from the command line (npm run bench -- realtime --clients 10000,18000), else the env var. */
function option(name: string, envName: string): string | undefined {
  const at = process.argv.indexOf(`--${name}`)
  if (at !== -1 && process.argv[at + 1]) return process.argv[at + 1]
  const inline = process.argv.find((arg) => arg.startsWith(`--${name}=`))
  return inline ? inline.slice(name.length + 3) : process.env[envName]
}
const SIZES = (option('clients', 'BENCH_CLIENTS') ?? '1000,5000,10000').split(',').map(Number)
for (const size of SIZES)
  if (!Number.isInteger(size) || size <= 0) throw new Error(`--clients: "${size}" is not a count`)
const CLIENT_PROCS = Number(option('client-procs', 'BENCH_CLIENT_PROCS') ?? 2)
/**
 * --pin (BENCH_PIN=1): the server process alone on CPU 0, the client processes on the other CPUs, as
 * in production, where dashboards run on other machines. Unpinned, the clients' reads of each event
 * take the server's core in the middle of its fan-out, and its latency and loop delay measure them.
 */
const PIN = process.argv.includes('--pin') || process.env.BENCH_PIN === '1'
const CPU_COUNT = availableParallelism()
if (PIN && CPU_COUNT < 2) throw new Error('--pin needs at least 2 CPUs (one for the server, one for the clients)')
/** --fanout-chunk N (BENCH_FANOUT_CHUNK): the hub's subscribers per turn, for an A/B of the chunking itself. */
const FANOUT_CHUNK = option('fanout-chunk', 'BENCH_FANOUT_CHUNK')
const SERVER_CPUS = PIN ? '0' : null
const CLIENT_CPUS = PIN ? `1-${CPU_COUNT - 1}` : null
const PG_URL = process.env.BENCH_PGLITE
  ? null
  : (process.env.BENCH_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres')
/** Latency phase: one booking per commit, at a steady rate. */
const STEADY = { transactions: 50, perTransaction: 1, intervalMs: 100 }
/** Throughput phase: commits back to back, several bookings each (as a sync pull writes). */
const BURST = { transactions: 40, perTransaction: 5, intervalMs: 0 }
/** Issue 26's goals: at 10k p50/p99; at the largest size p99, heap per connection and loop delay; ≥ 3× socket.io. */
const GOALS = {
  p50Ms: 30,
  p99Ms: 100,
  atClients: 10_000,
  largeP99Ms: 500,
  heapKiBPerConnection: 8,
  loopDelayP99Ms: 50,
  deliveriesVsSocketIo: 3,
}
const ALL_TRANSPORTS = ['hubmirror SSE', 'hubmirror WS', 'socket.io'] as const
type TransportName = (typeof ALL_TRANSPORTS)[number]
const WIRE: Record<TransportName, string> = { 'hubmirror SSE': 'sse', 'hubmirror WS': 'ws', 'socket.io': 'socketio' }
/** --transports sse,ws,socket.io (BENCH_ONLY): a subset, e.g. for profiling; the comparison needs socket.io. */
const ONLY = (option('transports', 'BENCH_ONLY') ?? '')
  .split(',')
  .map((t) => t.trim().toLowerCase())
  .filter(Boolean)
const TRANSPORTS = ALL_TRANSPORTS.filter((t) => ONLY.length === 0 || ONLY.some((o) => t.toLowerCase().endsWith(o)))
/**
 * BENCH_WAKEUPS=listen,poll: the commits come from a second hubmirror instance (its own process), so
 * they reach the subscribers' instance by LISTEN/NOTIFY (listen: the direct URL) or, with both
 * instances behind PgBouncer in transaction mode and no DATABASE_DIRECT_URL, by the change log's head
 * poll (poll). hubmirror SSE only (socket.io is fed in-process and cannot take part).
 */
const WAKEUPS = (process.env.BENCH_WAKEUPS ?? '').split(',').filter(Boolean)
for (const mode of WAKEUPS)
  if (mode !== 'listen' && mode !== 'poll') throw new Error(`BENCH_WAKEUPS: "${mode}" is neither listen nor poll`)
/** BENCH_PROFILE=1: the server runs under --cpu-prof (profiles in bench/.work/profiles). */
const PROFILE_ARGS = process.env.BENCH_PROFILE ? ['--cpu-prof', '--cpu-prof-dir', join(HERE, '../.work/profiles')] : []

interface Row {
  transport: TransportName
  /** How the commits reached the subscribers' instance: in-process (the writer is that instance), listen or poll. */
  wakeups: string
  clients: number
  connectMs: number
  connectFailed: number
  p50Ms: number
  p90Ms: number
  p99Ms: number
  maxMs: number
  /** Deliveries missing after the phase (should be 0). */
  lost: number
  burstDeliveriesPerSecond: number
  burstP50Ms: number
  burstP99Ms: number
  /** Server RSS / JS heap growth per open connection, after GC. */
  rssKiBPerConnection: number
  heapKiBPerConnection: number
  /** Server CPU per delivered event: barely moved by other work on the host, unlike latency. */
  serverCpuUsPerDelivery: number
  /** The clients' CPU per received event (the same lean client code for both). */
  clientCpuUsPerReceipt: number
  /**
   * How late the steady phase's last commit finished against its due time: a writer that falls
   * behind its schedule adds that wait to every later commit's latency (they are stamped when due).
   */
  writerLagMs: number
  /** The server's event-loop delay p99 during the steady phase and during the burst (perf_hooks). */
  loopDelayP99Ms: number
  burstLoopDelayP99Ms: number
}

interface Memory {
  rss: number
  heapUsed: number
}

function processCpuS(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
  return (Number(fields[11]) + Number(fields[12])) / 100
}

class Bench {
  /** Each run's clients connect from fresh loopback addresses (127.0.<run>.<process>). */
  #runs = 0

  constructor(
    readonly server: Worker,
    readonly serverPid: number,
    readonly clients: Worker[],
    readonly targets: Record<TransportName, { host: string; port: number; path: string }>,
    /** Where the commits are made: the server itself, or another instance. */
    readonly writer: Worker = server,
    readonly wakeups = 'in-process',
  ) {}

  async connect(transport: TransportName, total: number) {
    const target = this.targets[transport]
    const share = (i: number) => Math.floor(total / this.clients.length) + (i < total % this.clients.length ? 1 : 0)
    const run = ++this.#runs
    const results = await Promise.all(
      this.clients.map((client, i) =>
        client.call<{ connected: number; failed: number; retried: Record<string, number>; ms: number }>('connect', {
          transport: WIRE[transport],
          ...target,
          count: share(i),
          localAddress: `127.0.${run % 250}.${i + 10}`,
        }),
      ),
    )
    const retried = results.flatMap((r) => Object.entries(r.retried))
    if (retried.length > 0) console.log(`  (${transport}: connect retries ${JSON.stringify(retried)})`)
    return {
      connected: results.reduce((n, r) => n + r.connected, 0),
      failed: results.reduce((n, r) => n + r.failed, 0),
      ms: Math.max(...results.map((r) => r.ms)),
    }
  }

  /** Commits, waits until every client has every event (or the deadline), and gathers the latencies. */
  async phase(phase: typeof STEADY, connected: number) {
    await Promise.all(this.clients.map((client) => client.call('reset')))
    const cpuBefore = processCpuS(this.serverPid)
    const clientCpuBefore = this.clientCpuS()
    const written = await this.writer.call<{ firstCommitAt: number; lastCommitAt: number; events: number }>(
      'write',
      phase,
    )
    const writerLagMs = written.lastCommitAt - (written.firstCommitAt + (phase.transactions - 1) * phase.intervalMs)
    const expected = written.events * connected
    const deadline = Date.now() + 30_000
    let received = 0
    while (Date.now() < deadline) {
      received = (await Promise.all(this.clients.map((client) => client.call<number>('received')))).reduce(
        (a, b) => a + b,
        0,
      )
      if (received >= expected) break
      await sleep(50)
    }
    const cpu = processCpuS(this.serverPid) - cpuBefore
    const clientCpu = this.clientCpuS() - clientCpuBefore
    const parts = await Promise.all(
      this.clients.map((client) => client.call<{ latencies: Float64Array; lastReceipt: number }>('collect')),
    )
    const all = new Float64Array(parts.reduce((n, p) => n + p.latencies.length, 0))
    let offset = 0
    for (const part of parts) {
      all.set(part.latencies, offset)
      offset += part.latencies.length
    }
    all.sort()
    const lastReceipt = Math.max(...parts.map((p) => p.lastReceipt))
    const perDelivery = (seconds: number) => (seconds * 1e6) / Math.max(1, all.length)
    return {
      latencies: all,
      expected,
      received: all.length,
      seconds: (lastReceipt - written.firstCommitAt) / 1000,
      writerLagMs,
      cpuUsPerDelivery: perDelivery(cpu),
      clientCpuUsPerReceipt: perDelivery(clientCpu),
    }
  }

  clientCpuS(): number {
    return this.clients.reduce((sum, client) => sum + processCpuS(client.pid), 0)
  }

  async memory(): Promise<Memory> {
    return this.server.call<Memory>('memory')
  }

  async run(transport: TransportName, total: number): Promise<Row> {
    const before = await this.memory()
    const connect = await this.connect(transport, total)
    await sleep(500)
    const after = await this.memory()
    await this.server.call('stats')
    const steady = await this.phase(STEADY, connect.connected)
    const stats = await this.server.call<{ loopDelayP99Ms: number }>('stats')
    const burst = await this.phase(BURST, connect.connected)
    const burstStats = await this.server.call<{ loopDelayP99Ms: number }>('stats')
    await Promise.all(this.clients.map((client) => client.call('close')))
    await sleep(1_500)
    const kib = (bytes: number) => round(bytes / 1024 / Math.max(1, connect.connected), 1)
    return {
      transport,
      wakeups: this.wakeups,
      clients: connect.connected,
      connectMs: Math.round(connect.ms),
      connectFailed: connect.failed,
      p50Ms: round(percentile(steady.latencies, 50)),
      p90Ms: round(percentile(steady.latencies, 90)),
      p99Ms: round(percentile(steady.latencies, 99)),
      maxMs: round(steady.latencies[steady.latencies.length - 1] ?? Number.NaN),
      lost: steady.expected - steady.received + (burst.expected - burst.received),
      burstDeliveriesPerSecond: Math.round(burst.received / burst.seconds),
      burstP50Ms: round(percentile(burst.latencies, 50)),
      burstP99Ms: round(percentile(burst.latencies, 99)),
      rssKiBPerConnection: kib(after.rss - before.rss),
      heapKiBPerConnection: kib(after.heapUsed - before.heapUsed),
      serverCpuUsPerDelivery: round(
        (steady.cpuUsPerDelivery * steady.received + burst.cpuUsPerDelivery * burst.received) /
          Math.max(1, steady.received + burst.received),
        2,
      ),
      clientCpuUsPerReceipt: round(
        (steady.clientCpuUsPerReceipt * steady.received + burst.clientCpuUsPerReceipt * burst.received) /
          Math.max(1, steady.received + burst.received),
        2,
      ),
      writerLagMs: round(steady.writerLagMs),
      loopDelayP99Ms: round(stats.loopDelayP99Ms),
      burstLoopDelayP99Ms: round(burstStats.loopDelayP99Ms),
    }
  }
}

function printTable(rows: Row[]): void {
  const header = [
    'transport',
    'wakeups',
    'clients',
    'p50 ms',
    'p99 ms',
    'max ms',
    'lost',
    'burst deliveries/s',
    'burst p99 ms',
    'RSS KiB/conn',
    'heap KiB/conn',
    'server CPU µs/delivery',
    'client CPU µs/receipt',
    'writer lag ms',
    'loop p99 ms',
    'burst loop p99 ms',
    'connect ms',
  ]
  const lines = rows.map((r) =>
    [
      r.transport,
      r.wakeups,
      r.clients,
      r.p50Ms,
      r.p99Ms,
      r.maxMs,
      r.lost,
      r.burstDeliveriesPerSecond,
      r.burstP99Ms,
      r.rssKiBPerConnection,
      r.heapKiBPerConnection,
      r.serverCpuUsPerDelivery,
      r.clientCpuUsPerReceipt,
      r.writerLagMs,
      r.loopDelayP99Ms,
      r.burstLoopDelayP99Ms,
      r.connectMs,
    ].map(String),
  )
  const widths = header.map((h, i) => Math.max(h.length, ...lines.map((l) => l[i].length)))
  const format = (cells: string[]) =>
    cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  ')
  console.log(format(header))
  for (const line of lines) console.log(format(line))
}

function comparisons(rows: Row[]) {
  const find = (transport: TransportName, clients: number) =>
    rows.find((r) => r.transport === transport && r.clients === clients && r.wakeups === 'in-process')
  return SIZES.flatMap((size) =>
    (['hubmirror SSE', 'hubmirror WS'] as const).flatMap((transport) => {
      const ours = find(transport, size)
      const theirs = find('socket.io', size)
      if (!ours || !theirs) return []
      return [
        {
          clients: size,
          transport,
          /** < 1: within the goal. */
          p50VsGoal: round(ours.p50Ms / GOALS.p50Ms),
          p99VsGoal: round(ours.p99Ms / GOALS.p99Ms),
          /** < 1: hubmirror is faster / leaner; > 1 for throughput: hubmirror delivers more. */
          p50VsSocketIo: round(ours.p50Ms / theirs.p50Ms),
          p99VsSocketIo: round(ours.p99Ms / theirs.p99Ms),
          throughputVsSocketIo: round(ours.burstDeliveriesPerSecond / theirs.burstDeliveriesPerSecond),
          cpuPerDeliveryVsSocketIo: round(ours.serverCpuUsPerDelivery / theirs.serverCpuUsPerDelivery),
          heapVsSocketIo: round(ours.heapKiBPerConnection / theirs.heapKiBPerConnection),
        },
      ]
    }),
  )
}

/**
 * The subscribers' instance and a writing instance on one database: DATABASE_URL direct (LISTEN), or
 * both through PgBouncer in transaction mode with no direct URL (head poll). Same sizes as the main run.
 */
async function crossInstance(database: BenchDatabase, started: ReturnType<typeof machineInfo>): Promise<void> {
  const secret = randomBytes(24).toString('base64url')
  const token = issueToken(secret, ['exams.view'], { ttlSeconds: 3_600 })
  const rows: Row[] = []
  const clients = await Promise.all(
    Array.from({ length: CLIENT_PROCS }, (_, i) =>
      spawnWorker(`clients-${i}`, join(HERE, 'clients.ts')).then((w) => w.worker),
    ),
  )
  console.log(`realtime across instances on ${machineLine(started)}; ${CLIENT_PROCS} client processes`)
  for (const mode of WAKEUPS) {
    let bouncer: PrivatePgBouncer | null = null
    try {
      if (mode === 'poll') bouncer = await startPrivatePgBouncer({ server: database.url, poolMode: 'transaction' })
      const url = bouncer ? bouncer.url(database.name) : database.url
      // server.ts configures DATABASE_URL from BENCH_DATABASE_URL and nothing else: no DATABASE_DIRECT_URL.
      const env = { BENCH_JWT_SECRET: secret, BENCH_DATABASE_URL: url }
      const { worker: server, hello } = await spawnWorker('server', join(HERE, 'server.ts'), ['--expose-gc'], env)
      const { worker: writer, hello: writerHello } = await spawnWorker('writer', join(HERE, 'server.ts'), [], env)
      for (const [name, h] of [
        ['server', hello],
        ['writer', writerHello],
      ] as const)
        if (h.wakeups !== (mode === 'poll' ? 'poll' : 'listen'))
          throw new Error(
            `${name} runs with wake-ups "${String(h.wakeups)}", not ${mode} (pool mode ${String(h.poolMode)})`,
          )
      console.log(
        `  ${mode}: DATABASE_URL ${bouncer ? 'PgBouncer, transaction mode' : 'direct'}; pool mode ${String(hello.poolMode)}`,
      )
      const base = new URL(String(hello.url))
      const bench = new Bench(
        server,
        Number(hello.pid),
        clients,
        {
          'hubmirror SSE': { host: base.hostname, port: Number(base.port), path: `/api/events?access_token=${token}` },
          'hubmirror WS': { host: base.hostname, port: Number(base.port), path: `/api/ws?access_token=${token}` },
          'socket.io': { host: base.hostname, port: Number(hello.ioPort), path: '' },
        },
        writer,
        mode,
      )
      for (const size of SIZES) {
        const row = await bench.run('hubmirror SSE', size)
        rows.push(row)
        console.log(`  SSE (${mode}) × ${row.clients}: p50 ${row.p50Ms} ms, p99 ${row.p99Ms} ms, lost ${row.lost}`)
      }
      await writer.call('stop').catch(() => undefined)
      await server.call('stop').catch(() => undefined)
      await writer.stop()
      await server.stop()
    } finally {
      await bouncer?.close()
    }
  }
  console.log('')
  printTable(rows)
  const result = {
    benchmark: 'realtime across instances: commit on one instance to receipt over SSE on another',
    machine: started,
    loadAfter: uptimeLine(),
    clientProcesses: CLIENT_PROCS,
    phases: { steady: STEADY, burst: BURST },
    goals: GOALS,
    rows,
  }
  writeFileSync(join(HERE, 'last-run-cross-instance.json'), JSON.stringify(result, null, 2) + '\n')
  console.log(`\nwrote bench/realtime/last-run-cross-instance.json (${result.loadAfter})`)
}

async function main(): Promise<void> {
  for (const signal of ['SIGINT', 'SIGTERM'] as const)
    process.once(signal, () => void stopWorkers().finally(() => process.exit(130)))
  const started = machineInfo()
  if (WAKEUPS.length > 0) {
    if (!PG_URL) throw new Error('BENCH_WAKEUPS needs Postgres (not BENCH_PGLITE)')
    const database = await freshDatabase(PG_URL, 'hm_bench_rtx')
    try {
      await crossInstance(database, started)
    } finally {
      await stopWorkers()
      await database.drop().catch(() => undefined)
    }
    return
  }
  const secret = randomBytes(24).toString('base64url')
  const database: BenchDatabase | null = PG_URL ? await freshDatabase(PG_URL, 'hm_bench_rt') : null
  try {
    const { worker: server, hello } = await spawnWorker(
      'server',
      join(HERE, 'server.ts'),
      ['--expose-gc', ...PROFILE_ARGS],
      {
        BENCH_JWT_SECRET: secret,
        ...(database ? { BENCH_DATABASE_URL: database.url } : {}),
        ...(FANOUT_CHUNK ? { BENCH_FANOUT_CHUNK: FANOUT_CHUNK } : {}),
      },
      SERVER_CPUS,
    )
    const clients = await Promise.all(
      Array.from({ length: CLIENT_PROCS }, (_, i) =>
        spawnWorker(`clients-${i}`, join(HERE, 'clients.ts'), [], {}, CLIENT_CPUS).then((w) => w.worker),
      ),
    )
    const token = issueToken(secret, ['exams.view'], { ttlSeconds: 3_600 })
    const base = new URL(String(hello.url))
    const bench = new Bench(server, Number(hello.pid), clients, {
      'hubmirror SSE': { host: base.hostname, port: Number(base.port), path: `/api/events?access_token=${token}` },
      'hubmirror WS': { host: base.hostname, port: Number(base.port), path: `/api/ws?access_token=${token}` },
      'socket.io': { host: base.hostname, port: Number(hello.ioPort), path: '' },
    })
    console.log(
      `realtime fan-out on ${machineLine(started)}; database: ${hello.database}; ${CLIENT_PROCS} client processes` +
        (PIN ? `; server pinned to CPU ${SERVER_CPUS}, clients to CPUs ${CLIENT_CPUS}` : '') +
        (FANOUT_CHUNK ? `; fan-out ${FANOUT_CHUNK} subscribers per turn` : ''),
    )
    console.log(
      `steady: ${STEADY.transactions} commits at ${1000 / STEADY.intervalMs}/s; burst: ${BURST.transactions} commits × ${BURST.perTransaction} bookings back to back\n`,
    )
    const rows: Row[] = []
    for (const size of SIZES) {
      for (const transport of TRANSPORTS) {
        const row = await bench.run(transport, size)
        rows.push(row)
        console.log(
          `  ${transport} × ${row.clients}: p50 ${row.p50Ms} ms, p99 ${row.p99Ms} ms, ${row.burstDeliveriesPerSecond} deliveries/s, lost ${row.lost}`,
        )
      }
    }
    console.log('')
    printTable(rows)
    const ratios = comparisons(rows)
    console.log(
      `\ngoals: at ${GOALS.atClients} clients p50 ≤ ${GOALS.p50Ms} ms, p99 ≤ ${GOALS.p99Ms} ms; at the largest size p99 ≤ ${GOALS.largeP99Ms} ms, ` +
        `heap ≤ ${GOALS.heapKiBPerConnection} KiB/conn, loop delay p99 ≤ ${GOALS.loopDelayP99Ms} ms; deliveries ≥ ${GOALS.deliveriesVsSocketIo}× socket.io. Ratios:`,
    )
    for (const r of ratios) console.log(`  ${JSON.stringify(r)}`)
    const result = {
      benchmark: 'realtime fan-out: commit-to-receipt over SSE and WebSocket vs socket.io broadcast',
      /** The server's open-files limit (one process holds every connection of a run). */
      serverOpenFilesLimit: hello.openFilesLimit,
      machine: started,
      loadAfter: uptimeLine(),
      database: hello.database,
      clientProcesses: CLIENT_PROCS,
      pinned: PIN ? { server: SERVER_CPUS, clients: CLIENT_CPUS } : null,
      fanoutChunk: FANOUT_CHUNK ? Number(FANOUT_CHUNK) : 'default',
      phases: { steady: STEADY, burst: BURST },
      goals: GOALS,
      rows,
      ratios,
    }
    writeFileSync(join(HERE, 'last-run.json'), JSON.stringify(result, null, 2) + '\n')
    console.log(`\nwrote bench/realtime/last-run.json`)
    await server.call('stop').catch(() => undefined)
  } finally {
    await stopWorkers()
    await database?.drop().catch(() => undefined)
  }
}

await main()

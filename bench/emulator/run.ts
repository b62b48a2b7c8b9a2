// Benchmarks the HubSpot emulator with 100,000 objects: gets per second and search latency; writes last-run.json.
import autocannon from 'autocannon'
import { spawn, type ChildProcess } from 'node:child_process'
import { writeFileSync } from 'node:fs'
import { cpus } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { emulatorFlags } from '../support/routes.js'

const BOOKINGS = Number(process.env.BENCH_BOOKINGS ?? 100_000)
const DURATION_S = Number(process.env.BENCH_DURATION_S ?? 10)
const GOALS = { getsPerSecond: 5000, searchMedianMs: 20 }
const HEADERS = { authorization: 'Bearer bench', 'content-type': 'application/json' }

function pick<T>(items: T[]): T {
  return items[Math.floor(Math.random() * items.length)]!
}

async function ids(url: string, type: string, count: number): Promise<string[]> {
  const found: string[] = []
  let after: string | undefined
  while (found.length < count) {
    const res = await fetch(`${url}/crm/v3/objects/${type}?limit=100${after ? `&after=${after}` : ''}`, {
      headers: HEADERS,
    })
    const page = (await res.json()) as { results: { id: string }[]; paging?: { next: { after: string } } }
    found.push(...page.results.map((r) => r.id))
    if (!page.paging) break
    after = page.paging.next.after
  }
  return found
}

/** The emulator runs as its own process (as `hubmirror emulator` does), so autocannon does not share its event loop. */
async function startChild(): Promise<{ url: string; child: ChildProcess }> {
  const cli = join(dirname(fileURLToPath(import.meta.url)), 'serve.ts')
  const child = spawn(
    process.execPath,
    [
      '--import',
      'tsx',
      cli,
      ...emulatorFlags(BOOKINGS, { per10s: 1_000_000_000, searchPerS: 1_000_000_000, daily: 10 ** 15 }),
    ],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  )
  const url = await new Promise<string>((ok, fail) => {
    let out = ''
    child.stdout!.on('data', (chunk: Buffer) => {
      out += chunk.toString()
      const match = /HubSpot emulator: (http\S+)/.exec(out)
      if (match) ok(match[1]!)
    })
    child.once('exit', (code) => fail(new Error(`emulator exited with ${code}`)))
  })
  return { url, child }
}

async function main(): Promise<void> {
  const loadStart = Date.now()
  const { url, child } = await startChild()
  const loadMs = Date.now() - loadStart
  const bookingIds = await ids(url, 'bookings', 5000)
  const examIds = await ids(url, 'mock_exams', 1000)

  const gets = await autocannon({
    url: url,
    connections: 64,
    duration: DURATION_S,
    headers: HEADERS,
    requests: [
      {
        method: 'GET',
        setupRequest: (req) => ({
          ...req,
          path: `/crm/v3/objects/bookings/${pick(bookingIds)}?properties=booking_id,booking_status,mock_exam_id`,
        }),
      },
    ],
  })
  const searchBody = (): string =>
    JSON.stringify({
      filterGroups: [{ filters: [{ propertyName: 'mock_exam_id', operator: 'EQ', value: pick(examIds) }] }],
      sorts: [{ propertyName: 'hs_lastmodifieddate', direction: 'ASCENDING' }],
      properties: ['booking_id', 'booking_status', 'mock_exam_id'],
      limit: 100,
    })
  const searches = await autocannon({
    url: url,
    connections: 1,
    duration: Math.max(3, DURATION_S / 2),
    headers: HEADERS,
    requests: [
      {
        method: 'POST',
        path: '/crm/v3/objects/bookings/search',
        setupRequest: (req) => ({ ...req, body: searchBody() }),
      },
    ],
  })
  const stats = (await (await fetch(`${url}/_emulator/stats`)).json()) as { total: number }
  child.kill('SIGTERM')

  const figures = {
    at: new Date().toISOString(),
    machine: { cpus: cpus().length, cpu: cpus()[0]?.model ?? 'unknown', node: process.version },
    objects: BOOKINGS + Math.ceil(BOOKINGS / 100) + Math.min(Math.ceil(BOOKINGS / 20), 5000),
    requestsServed: stats.total,
    loadMs,
    getById: {
      connections: 64,
      durationS: DURATION_S,
      requestsPerSecond: Math.round(gets.requests.average),
      medianMs: gets.latency.p50,
      p99Ms: gets.latency.p99,
      non2xx: gets.non2xx,
      errors: gets.errors,
      goal: GOALS.getsPerSecond,
      ratio: round(gets.requests.average / GOALS.getsPerSecond),
    },
    search: {
      query: 'bookings: mock_exam_id EQ <exam> sorted by hs_lastmodifieddate, limit 100',
      connections: 1,
      requestsPerSecond: Math.round(searches.requests.average),
      medianMs: searches.latency.p50,
      p99Ms: searches.latency.p99,
      non2xx: searches.non2xx,
      errors: searches.errors,
      goal: GOALS.searchMedianMs,
      ratio: round(GOALS.searchMedianMs / Math.max(searches.latency.p50, 0.01)),
    },
  }
  console.log(
    `HubSpot emulator benchmark — ${figures.objects.toLocaleString()} objects (loaded in ${loadMs} ms), ${figures.machine.cpus} CPUs, Node ${process.version}`,
  )
  console.table({
    'GET by id (c=64)': {
      'req/s': figures.getById.requestsPerSecond,
      'median ms': figures.getById.medianMs,
      'p99 ms': figures.getById.p99Ms,
      non2xx: figures.getById.non2xx,
      goal: '≥ 5000 req/s',
      'ratio (≥1 passes)': figures.getById.ratio,
    },
    'search (c=1)': {
      'req/s': figures.search.requestsPerSecond,
      'median ms': figures.search.medianMs,
      'p99 ms': figures.search.p99Ms,
      non2xx: figures.search.non2xx,
      goal: '≤ 20 ms median',
      'ratio (≥1 passes)': figures.search.ratio,
    },
  })
  const out = join(dirname(fileURLToPath(import.meta.url)), 'last-run.json')
  writeFileSync(out, JSON.stringify(figures, null, 2) + '\n')
  console.log(`written to ${out}`)
  if (figures.getById.non2xx || figures.search.non2xx || figures.getById.errors || figures.search.errors)
    process.exitCode = 1
}

function round(n: number): number {
  return Math.round(n * 100) / 100
}

await main()

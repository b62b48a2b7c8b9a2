// Benchmarks the backfill, with no limit configured, against the two-bucket ceiling and the seed's migration on an emulator at 50 per 10 s; writes last-run.json.
import { setTimeout as sleep } from 'node:timers/promises'
import { writeFileSync } from 'node:fs'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { loadConfig } from '../../src/config/index.js'
import {
  bookingFromHubSpot,
  BOOKING_PROPERTIES,
  EXAM_PROPERTIES,
  examFromHubSpot,
  createHubSpot,
  type HubSpotObject,
} from '../../src/hubspot/index.js'
import { createLogger } from '../../src/logger.js'
import { createPgliteDriver } from '../../src/replica/driver-pglite.js'
import { migrate, openReplica, upsertBookings, upsertExams, type ReplicaDriver } from '../../src/replica/index.js'
import { freshDatabase } from '../support/database.js'
import { createProgress, createSyncEngine } from '../../src/sync/index.js'
import { machineInfo, machineLine, round } from '../support/machine.js'
import { childEnv, startChild, stopAll, stopChildrenOnExit } from '../support/processes.js'
import { emulatorFlags, routeCount, type EmulatorStats } from '../support/routes.js'

const HERE = dirname(fileURLToPath(import.meta.url))
const ROOT = resolve(HERE, '../..')
const BOOKINGS = Number(process.env.BENCH_BOOKINGS ?? 20_000)
const RATE_10S = 50
const SEARCH_S = 5
/** The burst limit in calls per second. */
const CEILING = RATE_10S / 10
const LIST_PAGE = 100
const SEARCH_PAGE = 200
const GOALS = { ofTwoBucketCeiling: 0.9, rateLimited: 0 }
const REPLICA = process.env.DATABASE_URL ? 'Postgres (DATABASE_URL)' : 'PGlite in memory, in-process'

/**
 * The two-bucket ceiling: a fresh burst window admits R list pages at once, then R/10 pages/s,
 * each of 100 rows; search adds S pages/s of 200 rows. So N rows take at least
 * (N − 100·R) / (10·R + 200·S) seconds: 10.1 s for 20,200 rows at R = 50, S = 5.
 */
function twoBucketCeilingSeconds(rows: number): number {
  return Math.max(0, rows - LIST_PAGE * RATE_10S) / ((LIST_PAGE * RATE_10S) / 10 + SEARCH_PAGE * SEARCH_S)
}

type Stats = EmulatorStats

interface Measured {
  ms: number
  rows: number
  calls: number
  listCalls: number
  searchCalls: number
  otherCalls: number
  answered429: number
  transactions: number
  /** The catch-up pull at the end (changes made while the backfill read): 2 searches the ceiling does not count. */
  catchUpMs: number
}

const SEARCH_ROUTE = 'POST /crm/v3/objects/:type/search'
const LIST_ROUTE = 'GET /crm/v3/objects/:type'

async function emulatorStats(url: string): Promise<Stats> {
  return (await (await fetch(`${url}/_emulator/stats`)).json()) as Stats
}

function measure(
  before: Stats,
  after: Stats,
  ms: number,
  rows: number,
  transactions: number,
): Omit<Measured, 'catchUpMs'> {
  const route = (name: string) => routeCount(after.byRoute, name) - routeCount(before.byRoute, name)
  const calls = after.total - before.total
  return {
    ms,
    rows,
    calls,
    transactions,
    listCalls: route(LIST_ROUTE),
    searchCalls: route(SEARCH_ROUTE),
    otherCalls: calls - route(LIST_ROUTE) - route(SEARCH_ROUTE),
    answered429: (after.byStatus['429'] ?? 0) - (before.byStatus['429'] ?? 0),
  }
}

/**
 * The replica the backfill writes: in-memory PGlite by default (the embedded default, whose writes
 * run on our own event loop), or a fresh Postgres database when DATABASE_URL is set.
 */
async function freshReplica(): Promise<ReplicaDriver> {
  const adminUrl = process.env.DATABASE_URL
  if (!adminUrl) {
    const db = await createPgliteDriver(null)
    await migrate(db)
    return db
  }
  const database = await freshDatabase(adminUrl, 'bench_backfill')
  const db = await openReplica({ databaseUrl: database.url, dataDir: join(ROOT, '.hubmirror-bench') })
  await migrate(db)
  const close = db.close.bind(db)
  return Object.assign(db, { close: async () => (await close(), await database.drop()) })
}

/**
 * hubmirror's backfill as `hubmirror backfill` runs it, with no burst limit configured (the default
 * guess of 190): what a user who does not know their tier runs. The burst limit is learned from
 * HubSpot's headers; the search bucket (5/s, no headers) is HubSpot's documented default.
 */
/** BENCH_TIMELINE=1: every HubSpot call of our run, as [start ms, end ms, kind, status], lands in timeline.json. */
const TIMELINE = process.env.BENCH_TIMELINE ? join(HERE, 'timeline.json') : null

function recordCalls(url: string, origin: number): { calls: Array<[number, number, string, number]>; stop(): void } {
  const calls: Array<[number, number, string, number]> = []
  const real = globalThis.fetch
  globalThis.fetch = async (input, init) => {
    const target = String(input instanceof Request ? input.url : input)
    const start = Date.now() - origin
    const response = await real(input, init)
    if (target.startsWith(url) && !target.includes('/_emulator/'))
      calls.push([
        start,
        Date.now() - origin,
        target.includes('/search') ? 'search' : (init?.method ?? 'GET'),
        response.status,
      ])
    return response
  }
  return { calls, stop: () => void (globalThis.fetch = real) }
}

async function runOurs(url: string): Promise<Measured> {
  const config = loadConfig({
    HUBMIRROR_DATA_DIR: join(ROOT, '.hubmirror-bench'),
    HUBMIRROR_JWT_SECRET: 'bench-secret-bench-secret-bench-secret',
    LOG_LEVEL: 'warn',
    HUBSPOT_BASE_URL: url,
    ...(process.env.HUBSPOT_API_VERSION ? { HUBSPOT_API_VERSION: process.env.HUBSPOT_API_VERSION } : {}),
  })
  const db = await freshReplica()
  const hubspot = createHubSpot(config, { baseUrl: url, accessToken: 'bench' })
  const sync = createSyncEngine({ db, hubspot, logger: createLogger('warn'), config })
  let transactions = 0
  db.onCommitted(() => (transactions += 1))
  try {
    const before = await emulatorStats(url)
    const started = Date.now()
    const timeline = TIMELINE ? recordCalls(url, started) : null
    const result = await sync.backfill({ progress: createProgress() })
    const ms = Date.now() - started
    timeline?.stop()
    if (timeline) writeFileSync(TIMELINE!, JSON.stringify(timeline.calls) + '\n')
    const measured = measure(
      before,
      await emulatorStats(url),
      ms,
      result.rows.exams + result.rows.bookings,
      transactions,
    )
    return { ...measured, catchUpMs: result.catchUp?.ms ?? 0 }
  } finally {
    await sync.stop()
    await hubspot.close()
    await db.close()
  }
}

/**
 * The seed's migration script, step for step: list all exams, upsert each exam, then for each exam
 * search its bookings and upsert them. Its HubSpot helper behaves like the official client with
 * retries on (numberOfApiCallRetries: 6) and no limiter: a TEN_SECONDLY 429 waits 10 s × attempt,
 * a SECONDLY one 1 s × attempt, a 5xx 200 ms × attempt; Retry-After and the rate headers are ignored.
 */
async function runSeed(url: string): Promise<Measured> {
  const db = await freshReplica()
  let transactions = 0
  db.onCommitted(() => (transactions += 1))
  const call = async <T>(method: string, path: string, body?: unknown): Promise<T> => {
    for (let attempt = 1; ; attempt++) {
      const response = await fetch(url + path, {
        method,
        headers: { authorization: 'Bearer bench', 'content-type': 'application/json' },
        body: body === undefined ? undefined : JSON.stringify(body),
      })
      const json = (await response.json()) as T & { policyName?: string; message?: string }
      if (response.ok) return json
      if (attempt >= 6) throw new Error(`${method} ${path}: ${response.status}`)
      if (response.status === 429 && json.policyName === 'TEN_SECONDLY_ROLLING') await sleep(10_000 * attempt)
      else if (response.status === 429 && json.message === 'You have reached your secondly limit.')
        await sleep(1_000 * attempt)
      else if (response.status >= 500) await sleep(200 * attempt)
      else throw new Error(`${method} ${path}: ${response.status}`)
    }
  }
  try {
    const before = await emulatorStats(url)
    const started = Date.now()
    // hubspot.listAllMockExams(): "Fetch ALL, not paginated" — the list endpoint, 100 a page.
    const exams: HubSpotObject[] = []
    let after = ''
    do {
      const page = await call<{ results: HubSpotObject[]; paging?: { next: { after: string } } }>(
        'GET',
        `/crm/v3/objects/mock_exams?limit=100&properties=${EXAM_PROPERTIES.join(',')}${after ? `&after=${after}` : ''}`,
      )
      exams.push(...page.results)
      after = page.paging?.next.after ?? ''
    } while (after)
    for (const exam of exams) await db.transaction((tx) => upsertExams(tx, [examFromHubSpot(exam)], 'manual'))
    let rows = exams.length
    for (const exam of exams) {
      // hubspot.getBookingsForExam(exam.id): one search per exam, paged.
      const bookings: HubSpotObject[] = []
      let offset: string | undefined
      do {
        const page = await call<{ results: HubSpotObject[]; paging?: { next: { after: string } } }>(
          'POST',
          '/crm/v3/objects/bookings/search',
          {
            filterGroups: [{ filters: [{ propertyName: 'mock_exam_id', operator: 'EQ', value: exam.id }] }],
            properties: [...BOOKING_PROPERTIES],
            limit: 100,
            after: offset,
          },
        )
        bookings.push(...page.results)
        offset = page.paging?.next.after
      } while (offset)
      if (bookings.length > 0)
        await db.transaction((tx) => upsertBookings(tx, bookings.map(bookingFromHubSpot), 'manual'))
      rows += bookings.length
    }
    const ms = Date.now() - started
    return { ...measure(before, await emulatorStats(url), ms, rows, transactions), catchUpMs: 0 }
  } finally {
    await db.close()
  }
}

/**
 * Two views of the ceiling. Per second (the issue's): burst calls/s ÷ 5. Over a run of a few
 * windows that can pass 1, since a fresh rolling window admits a whole window's worth at once;
 * so also: burst calls ÷ the most the limit admits in that time (50 per started 10 s).
 */
function rates(m: Measured) {
  const s = m.ms / 1000
  const standard = m.calls - m.searchCalls
  const ceilingSeconds = twoBucketCeilingSeconds(m.rows)
  return {
    twoBucketCeilingSeconds: round(ceilingSeconds, 2),
    ofTwoBucketCeiling: round(ceilingSeconds / s),
    /** The rows alone (read, written, checkpoint complete), before the catch-up pull: what the ceiling models. */
    ofTwoBucketCeilingRows: round(ceilingSeconds / ((m.ms - m.catchUpMs) / 1000)),
    catchUpSeconds: round(m.catchUpMs / 1000, 2),
    seconds: round(s, 1),
    rowsPerSecond: Math.round(m.rows / s),
    standardCallsPerSecond: round(standard / s),
    searchCallsPerSecond: round(m.searchCalls / s),
    ceilingShare: round(standard / s / CEILING),
    admittedShare: round(standard / (RATE_10S * Math.ceil(s / 10))),
  }
}

async function main(): Promise<void> {
  stopChildrenOnExit()
  const machine = machineInfo()
  // The emulator runs apart, as HubSpot would, so that its work does not share our event loop.
  const { child, match } = await startChild(
    'emulator',
    process.execPath,
    [
      join(ROOT, 'bin/hubmirror.js'),
      'emulator',
      ...emulatorFlags(BOOKINGS, { per10s: RATE_10S, searchPerS: SEARCH_S }),
    ],
    { cwd: ROOT, env: childEnv({}), ready: /HubSpot emulator: (http\S+)/ },
  )
  const url = match[1]
  try {
    console.log(
      `backfill benchmark — ${BOOKINGS.toLocaleString()} bookings (${BOOKINGS / 100} exams), emulator at ${RATE_10S} calls/10 s and ${SEARCH_S} searches/s, no burst limit configured, replica: ${REPLICA}; ${machineLine(machine)}`,
    )
    console.log('\nhubmirror backfill:')
    const ours = await runOurs(url)
    if (process.env.BENCH_SEED === '0') {
      // Tuning runs: our figures only, nothing written.
      console.table({ hubmirror: { ...ours, ...rates(ours) } })
      return
    }
    // Same data, fresh limits and counters: nothing the first run did weighs on the second.
    await fetch(`${url}/_emulator/reset`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ seed: BOOKINGS }),
    })
    console.log("\nthe seed's migration (one search per exam, naive retries)…")
    const seed = await runSeed(url)
    const a = rates(ours)
    const b = rates(seed)
    const table = {
      'time (s)': { hubmirror: a.seconds, seed: b.seconds, ratio: `${round(b.seconds / a.seconds)}× faster` },
      'rows / s': {
        hubmirror: a.rowsPerSecond,
        seed: b.rowsPerSecond,
        ratio: `${round(a.rowsPerSecond / b.rowsPerSecond)}×`,
      },
      'HubSpot calls': { hubmirror: ours.calls, seed: seed.calls, ratio: `${round(seed.calls / ours.calls)}× fewer` },
      '  list pages': { hubmirror: ours.listCalls, seed: seed.listCalls, ratio: '' },
      '  searches': { hubmirror: ours.searchCalls, seed: seed.searchCalls, ratio: '' },
      '  other': { hubmirror: ours.otherCalls, seed: seed.otherCalls, ratio: '' },
      'two-bucket ceiling (s)': { hubmirror: a.twoBucketCeilingSeconds, seed: b.twoBucketCeilingSeconds, ratio: '' },
      'ceiling ÷ time (goal ≥ 0.9)': { hubmirror: a.ofTwoBucketCeiling, seed: b.ofTwoBucketCeiling, ratio: '' },
      '  of which the catch-up pull (s)': { hubmirror: a.catchUpSeconds, seed: b.catchUpSeconds, ratio: '' },
      '  ceiling ÷ time before the catch-up': {
        hubmirror: a.ofTwoBucketCeilingRows,
        seed: b.ofTwoBucketCeilingRows,
        ratio: '',
      },
      'burst calls / s (ceiling 5)': { hubmirror: a.standardCallsPerSecond, seed: b.standardCallsPerSecond, ratio: '' },
      'burst calls/s ÷ 5 (goal ≥ 0.9)': { hubmirror: a.ceilingShare, seed: b.ceilingShare, ratio: '' },
      'burst calls ÷ most admitted in the time': { hubmirror: a.admittedShare, seed: b.admittedShare, ratio: '' },
      'searches / s (limit 5)': { hubmirror: a.searchCallsPerSecond, seed: b.searchCallsPerSecond, ratio: '' },
      '429s answered (goal 0)': { hubmirror: ours.answered429, seed: seed.answered429, ratio: '' },
      'replica transactions': { hubmirror: ours.transactions, seed: seed.transactions, ratio: '' },
    }
    console.log()
    console.table(table)
    const figures = {
      at: machine.date,
      machine,
      bookings: BOOKINGS,
      exams: BOOKINGS / 100,
      limits: {
        rateLimit10s: RATE_10S,
        searchRatePerSecond: SEARCH_S,
        ceilingCallsPerSecond: CEILING,
        configuredBurstLimit: 'none (default guess 190, learned from the headers)',
      },
      apiVersion: process.env.HUBSPOT_API_VERSION ?? '2026-03',
      replica: REPLICA,
      goals: GOALS,
      hubmirror: { ...ours, ...a },
      seed: { ...seed, ...b },
      ratios: {
        speedup: round(b.seconds / a.seconds),
        rowsPerSecond: round(a.rowsPerSecond / b.rowsPerSecond),
        fewerCalls: round(seed.calls / ours.calls),
      },
      passes: {
        ofTwoBucketCeiling: a.ofTwoBucketCeiling >= GOALS.ofTwoBucketCeiling,
        rateLimited: ours.answered429 === GOALS.rateLimited,
      },
      loadAtEnd: machineInfo().uptime,
    }
    const out = join(HERE, 'last-run.json')
    writeFileSync(out, JSON.stringify(figures, null, 2) + '\n')
    console.log(`written to ${out}`)
    if (!figures.passes.ofTwoBucketCeiling || !figures.passes.rateLimited) process.exitCode = 1
  } finally {
    await child.stop()
    await stopAll()
  }
}

await main()

// Student search at scale: N bookings seeded straight into Postgres, p50/p99 of GET /api/bookings?q= queries with
// and without the trigram index, and the cold plan (EXPLAIN ANALYZE, BUFFERS); writes last-run.json.
import { writeFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { performance } from 'node:perf_hooks'
import pg from 'pg'
import { migrate, openReplica, searchBookings, type Queryable } from '../../src/replica/index.js'
import { freshDatabase } from '../support/database.js'
import { machineInfo, machineLine, round, uptimeLine } from '../support/machine.js'
import { percentile } from '../support/stats.js'

const HERE = dirname(fileURLToPath(import.meta.url))
const ADMIN_URL = process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres'
const arg = (name: string, fallback: number) => {
  const i = process.argv.indexOf(`--${name}`)
  return i > 0 ? Number(process.argv[i + 1]) : fallback
}
const BOOKINGS = arg('bookings', 200_000)
const QUERIES = arg('queries', 300)
const BASELINE_QUERIES = arg('baseline-queries', 15)
const SEED = arg('seed', 20261205)
const PER_EXAM = 100
const FIRST = ['Priya', 'Liam', 'Noor', 'Mateo', 'Aiko', 'Olu', 'Sven', 'Ines', 'Ravi', 'Maya', 'Kwame', 'Zoë']
const LAST = ['Raman', 'Okafor', 'Nguyen', 'Schmidt', 'Haddad', 'Kowalski', 'Tanaka', 'Silva', 'Moreau', 'Patel']
const DOMAINS = ['gmail.com', 'outlook.com', 'school.example', 'clinic.example']

/** Seeded, so a run can be repeated query for query (the seed is printed and recorded). */
function rng(seed: number): () => number {
  let s = seed >>> 0
  return () => (s = (Math.imul(s, 1_664_525) + 1_013_904_223) >>> 0) / 2 ** 32
}

/** Booking n's fields, the same in SQL (seeding) and here (choosing what to search for). */
function studentOf(n: number) {
  const first = FIRST[n % FIRST.length]!
  const last = LAST[Math.floor(n / FIRST.length) % LAST.length]!
  return {
    name: `${first} ${last} ${n}`,
    email: `${first.toLowerCase()}.${last.toLowerCase()}${n}@${DOMAINS[n % DOMAINS.length]}`,
    id: `S${String(n).padStart(7, '0')}`,
  }
}

async function seed(db: pg.Client): Promise<void> {
  const exams = Math.ceil(BOOKINGS / PER_EXAM)
  const arr = (xs: string[]) => `ARRAY[${xs.map((x) => `'${x}'`).join(',')}]`
  await db.query(
    `INSERT INTO public.hubspot_mock_exams (hubspot_id, mock_exam_name, mock_type, exam_date, start_time, end_time, location, capacity, total_bookings, is_active, hs_lastmodifieddate)
     SELECT (20000000000 + g)::text, 'Mock ' || g, 'Mini-mock', DATE '2026-01-01' + (g % 700), '09:00', '12:00', 'Hall ' || (g % 20), ${PER_EXAM}, ${PER_EXAM}, 'true', now()
       FROM generate_series(1, ${exams}) g`,
  )
  // The same formulas as studentOf(n).
  const f = arr(FIRST)
  const l = arr(LAST)
  const d = arr(DOMAINS)
  await db.query(
    `INSERT INTO public.hubspot_bookings (hubspot_id, booking_id, mock_exam_id, student_id, student_name, student_email, booking_status, is_active, exam_date, hs_lastmodifieddate)
     SELECT (30000000000 + n)::text, 'bk-' || n, (20000000000 + 1 + n / ${PER_EXAM})::text,
            'S' || lpad(n::text, 7, '0'),
            (${f})[n % ${FIRST.length} + 1] || ' ' || (${l})[(n / ${FIRST.length}) % ${LAST.length} + 1] || ' ' || n,
            lower((${f})[n % ${FIRST.length} + 1]) || '.' || lower((${l})[(n / ${FIRST.length}) % ${LAST.length} + 1]) || n || '@' || (${d})[n % ${DOMAINS.length} + 1],
            CASE WHEN n % 10 = 0 THEN 'cancelled' ELSE 'confirmed' END, 'true', now(), now()
       FROM generate_series(0, ${BOOKINGS - 1}) n`,
  )
  await db.query('ANALYZE public.hubspot_bookings')
  await db.query('ANALYZE public.hubspot_mock_exams')
}

interface Workload {
  name: string
  /** What a person types. */
  next(): string
}

async function time(db: Queryable, workload: Workload, count: number) {
  const ms: number[] = []
  let hits = 0
  for (let i = 0; i < count; i++) {
    const q = workload.next()
    const start = performance.now()
    const page = await searchBookings(db, q, null, 20)
    ms.push(performance.now() - start)
    hits += page.hits.length
  }
  ms.sort((a, b) => a - b)
  return {
    queries: count,
    p50: round(percentile(ms, 50)),
    p99: round(percentile(ms, 99)),
    avgHits: round(hits / count, 1),
  }
}

async function main(): Promise<void> {
  const machine = machineInfo()
  console.log(`machine: ${machineLine(machine)}\nload at start: ${machine.uptime}`)
  console.log(`bookings ${BOOKINGS}, queries ${QUERIES} per workload, seed ${SEED}`)
  const database = await freshDatabase(ADMIN_URL, 'bench_search')
  const replica = await openReplica({ databaseUrl: database.url, dataDir: '/nonexistent' })
  const client = new pg.Client({ connectionString: database.url })
  // The drop at the end ends every session; that is not news.
  client.on('error', () => undefined)
  try {
    await migrate(replica)
    await client.connect()
    const started = performance.now()
    await seed(client)
    const seedSeconds = round((performance.now() - started) / 1000, 1)
    const size = await client.query<{ table: string; index: string }>(
      `SELECT pg_size_pretty(pg_relation_size('public.hubspot_bookings')) AS table,
              pg_size_pretty(pg_relation_size('public.idx_bookings_student_search')) AS index`,
    )
    console.log(`seeded in ${seedSeconds} s; table ${size.rows[0]!.table}, trigram index ${size.rows[0]!.index}`)

    const random = rng(SEED)
    const pick = () => studentOf(Math.floor(random() * BOOKINGS))
    const workloads: Workload[] = [
      // "jsmith@": a middle part of one student's email, as in the browser test.
      { name: 'part of one email', next: () => pick().email.split('@')[0]!.slice(3) + '@' },
      { name: 'student id', next: () => pick().id.slice(2) },
      { name: 'full name', next: () => pick().name },
      // A surname alone: ~1/10 of all bookings match; the first page of 20 is what is read.
      { name: 'common surname', next: () => LAST[Math.floor(random() * LAST.length)]! },
    ]

    // The cold plan: a fresh connection, the first search it runs.
    const cold = studentOf(Math.floor(BOOKINGS / 3))
      .email.split('@')[0]!
      .slice(3)
    const explainer = new pg.Client({ connectionString: database.url })
    await explainer.connect()
    let plan = ''
    const explaining: Queryable = {
      async query<R>(sql: string, params?: unknown[]) {
        if (!plan) {
          const explained = await explainer.query(`EXPLAIN (ANALYZE, BUFFERS) ${sql}`, params)
          plan = explained.rows.map((r: Record<string, string>) => r['QUERY PLAN']).join('\n')
        }
        const result = await explainer.query(sql, params)
        return { rows: result.rows as R[], rowCount: result.rowCount ?? 0 }
      },
    }
    await searchBookings(explaining, cold, null, 20)
    await explainer.end()
    console.log(`\ncold plan for q=${JSON.stringify(cold)}:\n${plan}\n`)

    const results: Record<string, unknown>[] = []
    for (const workload of workloads) {
      const indexed = await time(replica, workload, QUERIES)
      // The baseline: the same query with the trigram index out of reach (bitmap scans off), as
      // before migration 007: a scan of the table, or of the id index filtering every row.
      const baseline = await replica.transaction(async (tx) => {
        await tx.query('SET LOCAL enable_bitmapscan = off')
        await tx.query('SET LOCAL statement_timeout = 0')
        return time(tx, workload, BASELINE_QUERIES)
      })
      const row = {
        workload: workload.name,
        ...indexed,
        baselineP50: baseline.p50,
        baselineP99: baseline.p99,
        speedupP50: round(baseline.p50 / indexed.p50, 1),
      }
      console.log(JSON.stringify(row))
      results.push(row)
    }
    const end = uptimeLine()
    console.log(`load at end: ${end}`)
    writeFileSync(
      join(HERE, 'last-run.json'),
      JSON.stringify(
        {
          machine,
          loadAtEnd: end,
          bookings: BOOKINGS,
          seed: SEED,
          seedSeconds,
          size: size.rows[0],
          coldQuery: cold,
          plan,
          results,
        },
        null,
        2,
      ) + '\n',
    )
  } finally {
    await client.end().catch(() => undefined)
    await replica.close()
    // --keep leaves the database for a look at other plans (psql "$url").
    if (process.argv.includes('--keep')) console.log(`kept: ${database.url}`)
    else await database.drop()
  }
}

await main()

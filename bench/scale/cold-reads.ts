// Cold reads at scale: each read path's query as a cache miss runs it (p50/p99), and the plan Postgres picks for it.
import {
  examAggregates,
  listExamBookings,
  listExamBookingsPage,
  listExams,
  listExamsPage,
  migrate,
  openReplica,
  type Queryable,
} from '../../src/replica/index.js'
import { round } from '../support/machine.js'
import { percentile } from '../support/stats.js'

const RUNS = Number(process.env.BENCH_COLD_READS ?? 200)

interface Captured {
  sql: string
  params: unknown[]
}

/** Runs the query, and keeps its text so that EXPLAIN can be asked about the very same statement. */
function capturing(db: Queryable): { db: Queryable; last(): Captured } {
  let last: Captured = { sql: '', params: [] }
  return {
    db: {
      query: (sql, params = []) => {
        last = { sql, params }
        return db.query(sql, params)
      },
    } as Queryable,
    last: () => last,
  }
}

/**
 * A replica of `bookings` rows (100 an exam, as the emulator seeds them) written straight by SQL:
 * the reads do not care how the rows came, and this takes a minute at 1M instead of a backfill.
 */
export async function fillReplica(databaseUrl: string, dataDir: string, bookings: number): Promise<void> {
  const driver = await openReplica({ databaseUrl, dataDir })
  try {
    await migrate(driver)
    const exams = Math.ceil(bookings / 100)
    await driver.query(
      `INSERT INTO public.hubspot_mock_exams (hubspot_id, mock_exam_name, mock_type, exam_date, start_time, end_time,
         location, capacity, total_bookings, is_active, created_at, updated_at, hs_lastmodifieddate)
       SELECT (30000000000 + e)::text, 'Exam ' || e, (ARRAY['Situational Judgment','Clinical Skills','Mini-mock','Mock Discussion'])[1 + e % 4],
              date '2026-03-02' + (e % 120), (ARRAY['08:00','09:00','13:00','18:00'])[1 + e % 4], '20:00',
              (ARRAY['Toronto','Calgary','Online','Ottawa'])[1 + e % 4], 100, 95, CASE WHEN e % 10 = 0 THEN 'false' ELSE 'true' END,
              now(), now(), now()
         FROM generate_series(1, $1::int) AS e`,
      [exams],
    )
    for (let from = 1; from <= bookings; from += 250_000) {
      await driver.query(
        `INSERT INTO public.hubspot_bookings (hubspot_id, booking_id, mock_exam_id, contact_id, student_id, student_name,
           student_email, booking_status, is_active, attending_location, exam_date, dominant_hand, created_at, updated_at, hs_lastmodifieddate)
         SELECT (31000000000 + n)::text, 'BK-' || n, (30000000000 + 1 + (n - 1) / 100)::text, (32000000000 + n % 5000)::text,
                'S' || n % 5000, 'Student' || n % 5000 || ' Bulk', 'student' || n % 5000 || '@bulk.example.com',
                CASE WHEN n % 20 = 0 THEN 'cancelled' ELSE 'confirmed' END, CASE WHEN n % 20 = 0 THEN 'false' ELSE 'true' END,
                'Toronto', now(), 'right', timestamptz '2026-01-01' + n * interval '1 second', now(), now()
           FROM generate_series($1::int, $2::int) AS n`,
        [from, Math.min(bookings, from + 249_999)],
      )
    }
  } finally {
    await driver.close()
  }
}

/**
 * A read after a write bumped the generation misses the cache and runs exactly these queries, so
 * they are timed here alone: what the miss costs, without HTTP or the cache around it.
 */
export async function coldReads(databaseUrl: string, dataDir: string): Promise<Record<string, unknown>> {
  const driver = await openReplica({ databaseUrl, dataDir })
  try {
    await driver.query('ANALYZE')
    const examIds = (
      await driver.query<{ hubspot_id: string }>(
        'SELECT hubspot_id FROM public.hubspot_mock_exams ORDER BY random() LIMIT 200',
      )
    ).rows.map((r) => r.hubspot_id)
    const dates = (
      await driver.query<{ d: string }>(
        "SELECT to_char(exam_date, 'YYYY-MM-DD') AS d FROM public.hubspot_mock_exams GROUP BY 1 ORDER BY 1",
      )
    ).rows.map((r) => r.d)
    const { db, last } = capturing(driver)
    const cases: Record<string, (i: number) => Promise<{ json: string }>> = {
      'exam list, no filter': () => listExams(db, {}),
      'exam list, active + one week': (i) => {
        const from = dates[i % Math.max(1, dates.length - 7)] ?? '2026-03-02'
        const to = dates[Math.min(dates.length - 1, (i % Math.max(1, dates.length - 7)) + 6)] ?? from
        return listExams(db, { isActive: 'true', startDate: from, endDate: to })
      },
      aggregates: () => examAggregates(db),
      "one exam's bookings": (i) => listExamBookings(db, examIds[i % examIds.length]!),
      'exam list, keyset page of 100 (first)': () => listExamsPage(db, {}, { limit: 100, after: null }),
      'exam list, keyset page of 100 (deep)': (i) =>
        listExamsPage(db, {}, { limit: 100, after: [dates[i % dates.length] ?? '2026-03-02', '', '0'] }),
      "one exam's bookings, keyset page of 50": (i) =>
        listExamBookingsPage(db, examIds[i % examIds.length]!, { limit: 50, after: null }),
    }
    const out: Record<string, unknown> = {}
    for (const [name, run] of Object.entries(cases)) {
      const times: number[] = []
      let bytes = 0
      for (let i = 0; i < RUNS; i++) {
        const started = performance.now()
        const result = await run(i)
        times.push(performance.now() - started)
        bytes = result.json.length
      }
      times.sort((a, b) => a - b)
      const { sql, params } = last()
      const plan = (
        await driver.query<{ 'QUERY PLAN': string }>(`EXPLAIN (ANALYZE, BUFFERS, COSTS OFF) ${sql}`, params)
      ).rows.map((r) => r['QUERY PLAN'])
      out[name] = {
        p50ms: round(percentile(times, 50), 1),
        p99ms: round(percentile(times, 99), 1),
        maxMs: round(times.at(-1)!, 1),
        responseBytes: bytes,
        scans: plan.filter((l) => /Scan/.test(l)).map((l) => l.trim().replace(/\s+\(actual.*$/, '')),
        plan,
      }
    }
    return out
  } finally {
    await driver.close()
  }
}

// Cold reads at scale: each read path's query as a cache miss runs it (p50/p99), and the plan Postgres picks for it.
import { openReplica, examAggregates, listExamBookings, listExams, type Queryable } from '../../src/replica/index.js'
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

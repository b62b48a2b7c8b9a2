// Keyset batches of replica rows for the CSV exports: short queries one after another, never the whole table at once.
import { BOOKINGS, EXAMS, recordJson, type TableSpec } from './columns.js'
import type { Queryable } from './driver.js'
import type { ExamFilters } from './reads.js'

/** Where the previous batch ended: its last row's sort key, as text. */
export type ExportKey = readonly string[]

export interface ExportBatch {
  /** Records as the JSON API serves them (the same timestamps, in UTC). */
  rows: Record<string, unknown>[]
  /** The key to pass for the next batch; null when this batch was the last. */
  next: ExportKey | null
}

interface KeysetQuery {
  spec: TableSpec
  /** Conditions on alias `t`, with parameters $1..$n. */
  where: string
  params: unknown[]
  /** The sort, unique as a whole; each expression with the Postgres type its key compares as. */
  order: ReadonlyArray<{ sql: string; type: 'text' | 'date' }>
}

async function keysetBatch(db: Queryable, query: KeysetQuery, after: ExportKey | null, limit: number) {
  const keys = query.order.map((o) => o.sql)
  const params = [...query.params]
  let from = 'TRUE'
  if (after) {
    const placeholders = query.order.map((o, i) => {
      params.push(after[i])
      return `$${params.length}::${o.type}`
    })
    // A row comparison: Postgres compares the tuple in sort order, exactly the ORDER BY below.
    from = `(${keys.join(', ')}) > (${placeholders.join(', ')})`
  }
  params.push(limit)
  const { rows } = await db.query<Record<string, string>>(
    `SELECT ${recordJson(query.spec, 't')}::text AS json, ${keys.map((k, i) => `(${k})::text AS k${i}`).join(', ')}
       FROM ${query.spec.table} t
      WHERE ${query.where} AND ${from}
      ORDER BY ${keys.join(', ')}
      LIMIT $${params.length}`,
    params,
  )
  const last = rows.at(-1)
  return {
    rows: rows.map((row) => JSON.parse(row.json!) as Record<string, unknown>),
    next: last && rows.length === limit ? keys.map((_, i) => last[`k${i}`]!) : null,
  }
}

/** A batch of an exam's live bookings, by student name (a roster's order), then id. */
export function examBookingsBatch(
  db: Queryable,
  examId: string,
  after: ExportKey | null,
  limit: number,
): Promise<ExportBatch> {
  return keysetBatch(
    db,
    {
      spec: BOOKINGS,
      where: 't.mock_exam_id = $1 AND t.deleted_at IS NULL',
      params: [examId],
      order: [
        { sql: `coalesce(t.student_name, '')`, type: 'text' },
        { sql: 't.hubspot_id', type: 'text' },
      ],
    },
    after,
    limit,
  )
}

/** A batch of the live exams the JSON list's filters select, by date, start time, then id. */
export function examsBatch(
  db: Queryable,
  filters: ExamFilters,
  after: ExportKey | null,
  limit: number,
): Promise<ExportBatch> {
  return keysetBatch(
    db,
    {
      spec: EXAMS,
      where: `t.deleted_at IS NULL
        AND ($1::text IS NULL OR t.is_active = $1)
        AND ($2::date IS NULL OR t.exam_date >= $2::date)
        AND ($3::date IS NULL OR t.exam_date <= $3::date)`,
      params: [filters.isActive ?? null, filters.startDate ?? null, filters.endDate ?? null],
      order: [
        // Exams without a date last, as in the JSON list.
        { sql: `coalesce(t.exam_date, 'infinity'::date)`, type: 'date' },
        { sql: `coalesce(t.start_time, '')`, type: 'text' },
        { sql: 't.hubspot_id', type: 'text' },
      ],
    },
    after,
    limit,
  )
}

// Read queries that return ready-made JSON text plus the change-log seq the snapshot reflects.
import { SEAT_HOLDING_STATUSES } from '../model/records.js'
import { BOOKINGS, EXAMS, recordJson } from './columns.js'
import type { Queryable } from './driver.js'
import { CHANGE_LOG_HEAD } from './schema.js'

/** JSON built by Postgres, and the seq of the newest event visible in the same snapshot. */
export interface JsonSnapshot {
  json: string
  seq: string
}

// One statement is one snapshot, so the data and the seq agree; events append in commit order
// (see change-log.ts), so every event up to seq is reflected and none after it is.
const SEQ = `${CHANGE_LOG_HEAD}::text AS seq`

async function snapshot(db: Queryable, jsonSql: string, params: unknown[]): Promise<JsonSnapshot> {
  const { rows } = await db.query<{ json: string | null; seq: string }>(
    `SELECT (${jsonSql})::text AS json, ${SEQ}`,
    params,
  )
  return { json: rows[0].json ?? 'null', seq: rows[0].seq }
}

export interface ExamFilters {
  isActive?: 'true' | 'false'
  startDate?: string
  endDate?: string
}

/** The exam list's order, as the key a keyset page resumes after (idx_exams_list_order, migration 008). */
const EXAM_KEY = `coalesce(e.exam_date, 'infinity'::date), coalesce(e.start_time, ''), e.hubspot_id`
/** One exam's bookings' order (idx_bookings_exam_order). */
const BOOKING_KEY = `coalesce(b.created_at, 'infinity'::timestamptz), b.hubspot_id`

/** A keyset page: at most `limit` rows after the row whose sort key is `after` (null: from the start). */
export interface PageRequest {
  limit: number
  after: readonly string[] | null
}

/** A page's rows as JSON, and the sort key of its last row when more rows follow (null: the last page). */
export interface JsonPage extends JsonSnapshot {
  next: string[] | null
}

/**
 * One statement (one snapshot): the page plus one row, so that "is there more" needs no count, and
 * the last row's key. `rows` selects `*`, the key as k1…, ordered, limited to $limit + 1.
 */
async function keysetPage(
  db: Queryable,
  rows: string,
  record: string,
  nextKey: string,
  order: string,
  params: unknown[],
  limit: number,
): Promise<JsonPage> {
  const l = `$${params.length + 1}::int`
  const result = await db.query<{ json: string; next: string[] | null; seq: string }>(
    `WITH numbered AS (SELECT p.*, row_number() OVER (ORDER BY ${order}) AS n FROM (${rows}) AS p)
     SELECT coalesce((SELECT json_agg(${record} ORDER BY n) FROM numbered p WHERE n <= ${l}), '[]'::json)::text AS json,
            (SELECT ${nextKey} FROM numbered WHERE n = ${l} AND EXISTS (SELECT 1 FROM numbered WHERE n > ${l})) AS next,
            ${SEQ}`,
    [...params, limit],
  )
  const row = result.rows[0]!
  return { json: row.json, next: row.next, seq: row.seq }
}

/** A page of the exam list in its order; `after` is the [date, start, id] key the previous page ended on. */
export function listExamsPage(db: Queryable, filters: ExamFilters, request: PageRequest): Promise<JsonPage> {
  return keysetPage(
    db,
    `SELECT e.*, coalesce(e.exam_date, 'infinity'::date) AS k1, coalesce(e.start_time, '') AS k2
       FROM ${EXAMS.table} e
      WHERE e.deleted_at IS NULL
        AND ($1::text IS NULL OR e.is_active = $1)
        AND ($2::date IS NULL OR e.exam_date >= $2::date)
        AND ($3::date IS NULL OR e.exam_date <= $3::date)
        AND ($4::text[] IS NULL OR (${EXAM_KEY}) > (($4::text[])[1]::date, ($4::text[])[2], ($4::text[])[3]))
      ORDER BY ${EXAM_KEY} LIMIT $5::int + 1`,
    recordJson(EXAMS, 'p'),
    `ARRAY[CASE WHEN k1 = 'infinity' THEN 'infinity' ELSE to_char(k1, 'YYYY-MM-DD') END, k2, hubspot_id]`,
    'k1, k2, hubspot_id',
    [filters.isActive ?? null, filters.startDate ?? null, filters.endDate ?? null, request.after],
    request.limit,
  )
}

/** A page of one exam's bookings in their order; json is "null" when the exam is absent or deleted. */
export async function listExamBookingsPage(db: Queryable, examId: string, request: PageRequest): Promise<JsonPage> {
  const result = await keysetPage(
    db,
    `SELECT b.*, coalesce(b.created_at, 'infinity'::timestamptz) AS k1
       FROM ${BOOKINGS.table} b
      WHERE b.mock_exam_id = $1 AND b.deleted_at IS NULL
        AND ($2::text[] IS NULL OR (${BOOKING_KEY}) > (
              CASE WHEN ($2::text[])[1] = 'infinity' THEN 'infinity'::timestamptz
                   ELSE timestamptz 'epoch' + ($2::text[])[1]::bigint * interval '1 microsecond' END,
              ($2::text[])[2]))
      ORDER BY ${BOOKING_KEY} LIMIT $3::int + 1`,
    `${recordJson(BOOKINGS, 'p')}`,
    `ARRAY[CASE WHEN k1 = 'infinity' THEN 'infinity' ELSE (extract(epoch FROM k1) * 1000000)::bigint::text END, hubspot_id]`,
    'k1, hubspot_id',
    [examId, request.after],
    request.limit,
  )
  if (result.json !== '[]') return result
  const exists = await db.query(`SELECT 1 FROM ${EXAMS.table} WHERE hubspot_id = $1 AND deleted_at IS NULL`, [examId])
  return exists.rows.length ? result : { ...result, json: 'null' }
}

export function listExams(db: Queryable, filters: ExamFilters): Promise<JsonSnapshot> {
  return snapshot(
    db,
    `SELECT coalesce(json_agg(${recordJson(EXAMS, 'e')} ORDER BY ${EXAM_KEY}), '[]'::json)
       FROM ${EXAMS.table} e
      WHERE e.deleted_at IS NULL
        AND ($1::text IS NULL OR e.is_active = $1)
        AND ($2::date IS NULL OR e.exam_date >= $2::date)
        AND ($3::date IS NULL OR e.exam_date <= $3::date)`,
    [filters.isActive ?? null, filters.startDate ?? null, filters.endDate ?? null],
  )
}

/** json is "null" when the exam is absent or deleted. */
export function getExam(db: Queryable, hubspotId: string): Promise<JsonSnapshot> {
  return snapshot(
    db,
    `SELECT ${recordJson(EXAMS, 'e')} FROM ${EXAMS.table} e WHERE e.hubspot_id = $1 AND e.deleted_at IS NULL`,
    [hubspotId],
  )
}

/** json is "null" when the exam is absent or deleted. */
export function listExamBookings(db: Queryable, examId: string): Promise<JsonSnapshot> {
  return snapshot(
    db,
    `SELECT CASE WHEN EXISTS (SELECT 1 FROM ${EXAMS.table} WHERE hubspot_id = $1 AND deleted_at IS NULL) THEN
       (SELECT coalesce(json_agg(${recordJson(BOOKINGS, 'b')} ORDER BY ${BOOKING_KEY}), '[]'::json)
          FROM ${BOOKINGS.table} b WHERE b.mock_exam_id = $1 AND b.deleted_at IS NULL) END`,
    [examId],
  )
}

/** One exam's seats for the public page: counts only, nothing about who booked. */
export interface SeatsLeft {
  exam_id: string
  capacity: number
  booked: number
  seats_left: number
  /** The newest change-log seq the counts reflect (same statement, so they agree). */
  seq: string
}

/**
 * Null when the exam is absent or deleted. Same seat rule as the write guards
 * (SEAT_HOLDING_STATUSES, not deleted); a null capacity counts as 0.
 */
export async function examSeats(db: Queryable, examId: string): Promise<SeatsLeft | null> {
  const { rows } = await db.query<{ exam_id: string; capacity: number; booked: number; seq: string }>(
    `SELECT e.hubspot_id AS exam_id, coalesce(e.capacity, 0) AS capacity,
            (SELECT count(*)::int FROM ${BOOKINGS.table} b
              WHERE b.mock_exam_id = e.hubspot_id AND b.deleted_at IS NULL
                AND b.booking_status = ANY($2::text[])) AS booked,
            ${SEQ}
       FROM ${EXAMS.table} e
      WHERE e.hubspot_id = $1 AND e.deleted_at IS NULL`,
    [examId, SEAT_HOLDING_STATUSES],
  )
  const row = rows[0]
  if (!row) return null
  const capacity = Number(row.capacity)
  const booked = Number(row.booked)
  // Key order is the wire order (the snapshot body and every SSE frame are this object stringified).
  return { exam_id: row.exam_id, capacity, booked, seats_left: Math.max(capacity - booked, 0), seq: row.seq }
}

export function examAggregates(db: Queryable): Promise<JsonSnapshot> {
  const group = (column: string, key: string) =>
    `(SELECT coalesce(json_agg(json_build_object('${key}', g.k, 'exams', g.exams, 'capacity', g.capacity, 'bookings', g.bookings) ORDER BY g.k), '[]'::json)
        FROM (SELECT ${column} AS k, count(*)::int AS exams, coalesce(sum(capacity), 0)::int AS capacity,
                     coalesce(sum(total_bookings), 0)::int AS bookings
                FROM live GROUP BY ${column}) g)`
  return snapshot(
    db,
    `WITH live AS (SELECT * FROM ${EXAMS.table} WHERE deleted_at IS NULL)
     SELECT json_build_object(
       'total_exams', (SELECT count(*)::int FROM live),
       'active_exams', (SELECT count(*)::int FROM live WHERE is_active = 'true'),
       'total_capacity', (SELECT coalesce(sum(capacity), 0)::int FROM live),
       'total_bookings', (SELECT coalesce(sum(total_bookings), 0)::int FROM live),
       'utilization', (SELECT CASE WHEN coalesce(sum(capacity), 0) = 0 THEN 0
                              ELSE round(sum(total_bookings)::numeric / sum(capacity), 4) END FROM live),
       'by_type', ${group('mock_type', 'mock_type')},
       'by_location', ${group('location', 'location')},
       'by_date', ${group('exam_date', 'exam_date')})`,
    [],
  )
}

// Read queries that return ready-made JSON text plus the change-log seq the snapshot reflects.
import { SEAT_HOLDING_STATUSES } from '../model/records.js'
import { BOOKINGS, EXAMS, recordJson } from './columns.js'
import type { Queryable } from './driver.js'

/** JSON built by Postgres, and the seq of the newest event visible in the same snapshot. */
export interface JsonSnapshot {
  json: string
  seq: string
}

// One statement is one snapshot, so the data and the seq agree; events append in commit order
// (see change-log.ts), so every event up to seq is reflected and none after it is.
const SEQ = `(SELECT coalesce(max(seq), 0) FROM hubmirror.replica_events)::text AS seq`

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

export function listExams(db: Queryable, filters: ExamFilters): Promise<JsonSnapshot> {
  return snapshot(
    db,
    `SELECT coalesce(json_agg(${recordJson(EXAMS, 'e')} ORDER BY e.exam_date, e.start_time, e.hubspot_id), '[]'::json)
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
       (SELECT coalesce(json_agg(${recordJson(BOOKINGS, 'b')} ORDER BY b.created_at, b.hubspot_id), '[]'::json)
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

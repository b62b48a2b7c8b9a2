// Id and version listings of the replica tables: what sync compares against HubSpot and counts for its status.
import type { SyncType } from '../model/records.js'
import { BOOKINGS, EXAMS, type TableSpec } from './columns.js'
import type { Queryable } from './driver.js'

const SPEC: Record<SyncType, TableSpec> = { exams: EXAMS, bookings: BOOKINGS }

/** A replica row as reconcile compares it: its id, its version in ms, and whether it is soft-deleted. */
export interface RowVersion {
  hubspot_id: string
  ms: number
  deleted: boolean
}

/** `a` before `b` in HubSpot's id order: numerically (shorter first), for the digit strings HubSpot ids are. */
export function compareHubSpotIds(a: string, b: string): number {
  return a.length - b.length || (a < b ? -1 : a > b ? 1 : 0)
}

/**
 * Rows of a type in HubSpot's id order after `after` (exclusive) up to `through` (inclusive; null:
 * no bound), at most `limit`: reconcile reads the replica a window at a time beside the listing.
 * The window is cut by id length into three parts, each a plain range of the (length, id) index
 * (migration 008): the ids of `after`'s length above it, the lengths in between, and the ids of
 * `through`'s length up to it. A row comparison `(length, id) > (…)` reads the same index but
 * cannot stop early: at 1M bookings each window scanned half the table, 1.9 s a page.
 */
export async function rowVersionsBetween(
  db: Queryable,
  type: SyncType,
  after: string | null,
  through: string | null,
  limit: number,
): Promise<RowVersion[]> {
  const table = SPEC[type].table
  const part = (where: string) =>
    `(SELECT hubspot_id, round(extract(epoch FROM hs_lastmodifieddate) * 1000)::bigint::text AS ms,
             deleted_at IS NOT NULL AS deleted, length(hubspot_id) AS len
        FROM ${table} WHERE ${where} ORDER BY length(hubspot_id), hubspot_id LIMIT $3)`
  const { rows } = await db.query<{ hubspot_id: string; ms: string; deleted: boolean }>(
    `SELECT hubspot_id, ms, deleted FROM (
       ${part(`$1::text IS NOT NULL AND length(hubspot_id) = length($1::text) AND hubspot_id > $1::text
               AND ($2::text IS NULL OR length($2::text) <> length($1::text) OR hubspot_id <= $2::text)`)}
       UNION ALL
       ${part(`($1::text IS NULL OR length(hubspot_id) > length($1::text))
               AND ($2::text IS NULL OR length(hubspot_id) < length($2::text))`)}
       UNION ALL
       ${part(`$2::text IS NOT NULL AND length(hubspot_id) = length($2::text) AND hubspot_id <= $2::text
               AND ($1::text IS NULL OR length($1::text) <> length($2::text))`)}
     ) AS w ORDER BY len, hubspot_id LIMIT $3`,
    [after, through, limit],
  )
  return rows.map((row) => ({ hubspot_id: row.hubspot_id, ms: Number(row.ms), deleted: row.deleted }))
}

/** Ids of the exams not soft-deleted. */
export async function liveExamIds(db: Queryable): Promise<string[]> {
  const { rows } = await db.query<{ hubspot_id: string }>(
    `SELECT hubspot_id FROM ${EXAMS.table} WHERE deleted_at IS NULL`,
  )
  return rows.map((row) => row.hubspot_id)
}

/** Ids of the live bookings the replica files under these exams. */
export async function liveBookingIdsOfExams(db: Queryable, examIds: readonly string[]): Promise<string[]> {
  const { rows } = await db.query<{ hubspot_id: string }>(
    `SELECT hubspot_id FROM ${BOOKINGS.table} WHERE deleted_at IS NULL AND mock_exam_id = ANY($1::text[])`,
    [examIds],
  )
  return rows.map((row) => row.hubspot_id)
}

/** Live (not soft-deleted) rows per type, in one snapshot. */
export async function liveRowCounts(db: Queryable): Promise<Record<SyncType, number>> {
  const { rows } = await db.query<Record<SyncType, string>>(
    `SELECT (SELECT count(*) FROM ${EXAMS.table} WHERE deleted_at IS NULL)::text AS exams,
            (SELECT count(*) FROM ${BOOKINGS.table} WHERE deleted_at IS NULL)::text AS bookings`,
  )
  return { exams: Number(rows[0]!.exams), bookings: Number(rows[0]!.bookings) }
}

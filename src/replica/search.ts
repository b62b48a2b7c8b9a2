// Finding bookings by part of a student's name, email or id, across exams, backed by migration 007's trigram index.
import { BOOKINGS, EXAMS, recordJson } from './columns.js'
import { headSeq } from './change-log.js'
import type { Queryable } from './driver.js'
import { CHANGE_LOG_HEAD } from './schema.js'

/**
 * The searched text, written exactly as the index expression of migration 007 (Postgres matches
 * an expression index only by the same expression). A test checks that the plan uses the index.
 */
const STUDENT_SEARCH_TEXT = `(coalesce(b.student_name, '') || E'\\n' || coalesce(b.student_email, '') || E'\\n' || coalesce(b.student_id, ''))`

const EXAM_SUMMARY = `CASE WHEN e.hubspot_id IS NULL THEN NULL ELSE json_build_object(
  'hubspot_id', e.hubspot_id, 'mock_exam_name', e.mock_exam_name, 'mock_type', e.mock_type,
  'exam_date', e.exam_date, 'start_time', e.start_time, 'end_time', e.end_time, 'location', e.location,
  'is_active', e.is_active, 'archived', e.deleted_at IS NOT NULL) END`

export interface BookingSearchPage {
  /** Each hit as JSON text: the booking record plus `exam`. */
  hits: string[]
  /** The last hit's id when more follow (the next page starts after it); else null. */
  lastId: string | null
  /** The change-log seq the page reflects. */
  seq: string
}

/** `%text%` for ILIKE, with the text's own `%`, `_` and `\` taken literally. */
export function containsPattern(text: string): string {
  return `%${text.replace(/[\\%_]/g, '\\$&')}%`
}

/**
 * Live bookings whose name, email or student id contains `text` (any case), newest booking first
 * (HubSpot ids grow with creation), after the booking `afterId` of the previous page.
 */
export async function searchBookings(
  db: Queryable,
  text: string,
  afterId: string | null,
  limit: number,
): Promise<BookingSearchPage> {
  const { rows } = await db.query<{ record: string; exam: string | null; id: string; seq: string }>(
    // The page is chosen first, and only its rows (at most limit + 1) are joined to their exams:
    // joined before the LIMIT, every match of a broad search was joined and then sorted.
    `SELECT ${recordJson(BOOKINGS, 'b')}::text AS record, (${EXAM_SUMMARY})::text AS exam,
            b.hubspot_id AS id,
            ${CHANGE_LOG_HEAD}::text AS seq
       FROM (SELECT * FROM ${BOOKINGS.table} b
              WHERE b.deleted_at IS NULL
                AND ${STUDENT_SEARCH_TEXT} ILIKE $1
                AND ($2::text IS NULL OR b.hubspot_id < $2)
              ORDER BY b.hubspot_id DESC
              LIMIT $3) b
       LEFT JOIN ${EXAMS.table} e ON e.hubspot_id = b.mock_exam_id
      ORDER BY b.hubspot_id DESC`,
    [containsPattern(text), afterId, limit + 1],
  )
  const page = rows.slice(0, limit)
  const seq = rows[0]?.seq ?? (await headSeq(db))
  // The record's own JSON with `exam` added as its last field (the API's field order kept).
  const hits = page.map((row) => `${row.record.slice(0, row.record.lastIndexOf('}'))}, "exam" : ${row.exam ?? 'null'}}`)
  return { hits, lastId: rows.length > limit ? page.at(-1)!.id : null, seq }
}

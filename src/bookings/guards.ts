// The write guards, evaluated under row locks in Postgres: existence, activity, capacity, cancel state.
import { SEAT_HOLDING_STATUSES } from '../model/records.js'
import { BOOKINGS, recordJson, type Queryable } from '../replica/index.js'

export interface LockedExam {
  hubspot_id: string
  capacity: number | null
  is_active: string | null
  deleted: boolean
}

/**
 * Locks the exam row until the transaction ends. Every booking guard for one exam passes through
 * this lock, across instances, so two admins cannot both take the last seat.
 */
export async function lockExam(tx: Queryable, examId: string): Promise<LockedExam | null> {
  const { rows } = await tx.query<LockedExam>(
    `SELECT hubspot_id, capacity, is_active, deleted_at IS NOT NULL AS deleted
       FROM public.hubspot_mock_exams WHERE hubspot_id = $1 FOR UPDATE`,
    [examId],
  )
  return rows[0] ?? null
}

/** Seats held: seat-holding bookings in the replica plus creates in flight (pending intents). */
export async function seatsTaken(db: Queryable, examId: string): Promise<number> {
  const { rows } = await db.query<{ taken: number }>(
    `SELECT (SELECT count(*) FROM public.hubspot_bookings
              WHERE mock_exam_id = $1 AND deleted_at IS NULL AND booking_status = ANY($2::text[]))
          + (SELECT count(*) FROM hubmirror.write_intents i
              WHERE i.kind = 'booking.create' AND i.status = 'pending' AND i.exam_id = $1
                AND NOT EXISTS (SELECT 1 FROM public.hubspot_bookings b WHERE b.booking_id = i.idempotency_key)) AS taken`,
    [examId, SEAT_HOLDING_STATUSES],
  )
  return Number(rows[0].taken)
}

/** Confirmed seat counts of several exams, as HubSpot's total_bookings should read. */
export async function bookedCounts(db: Queryable, examIds: readonly string[]): Promise<Map<string, number>> {
  const { rows } = await db.query<{ exam_id: string; booked: number }>(
    `SELECT e.hubspot_id AS exam_id, count(b.hubspot_id)::int AS booked
       FROM public.hubspot_mock_exams e
       LEFT JOIN public.hubspot_bookings b
         ON b.mock_exam_id = e.hubspot_id AND b.deleted_at IS NULL AND b.booking_status = ANY($2::text[])
      WHERE e.hubspot_id = ANY($1::text[])
      GROUP BY e.hubspot_id`,
    [examIds, SEAT_HOLDING_STATUSES],
  )
  return new Map(rows.map((row) => [row.exam_id, Number(row.booked)]))
}

/**
 * Exams whose total_bookings (HubSpot's value as last mirrored) disagrees with their seat-holding
 * bookings in the replica: a counter update that a crash cut off on either side of HubSpot.
 */
export async function driftedCounts(db: Queryable): Promise<string[]> {
  const { rows } = await db.query<{ exam_id: string }>(
    `SELECT e.hubspot_id AS exam_id
       FROM public.hubspot_mock_exams e
       LEFT JOIN public.hubspot_bookings b
         ON b.mock_exam_id = e.hubspot_id AND b.deleted_at IS NULL AND b.booking_status = ANY($1::text[])
      WHERE e.deleted_at IS NULL
      GROUP BY e.hubspot_id, e.total_bookings
     HAVING e.total_bookings IS DISTINCT FROM count(b.hubspot_id)::int`,
    [SEAT_HOLDING_STATUSES],
  )
  return rows.map((row) => row.exam_id)
}

export interface BookingState {
  hubspot_id: string
  booking_id: string | null
  mock_exam_id: string | null
  booking_status: string | null
  deleted: boolean
}

export async function lockBookings(tx: Queryable, hubspotIds: readonly string[]): Promise<BookingState[]> {
  const { rows } = await tx.query<BookingState>(
    `SELECT hubspot_id, booking_id, mock_exam_id, booking_status, deleted_at IS NOT NULL AS deleted
       FROM public.hubspot_bookings WHERE hubspot_id = ANY($1::text[]) ORDER BY hubspot_id FOR UPDATE`,
    [hubspotIds],
  )
  return rows
}

/** The replica record of a booking by its idempotency key, for replays of a completed create. */
export async function bookingByKey(db: Queryable, bookingId: string): Promise<Record<string, unknown> | null> {
  const { rows } = await db.query<{ record: Record<string, unknown> }>(
    `SELECT ${recordJson(BOOKINGS, 'b')} AS record FROM ${BOOKINGS.table} b WHERE b.booking_id = $1 AND b.deleted_at IS NULL`,
    [bookingId],
  )
  return rows[0]?.record ?? null
}

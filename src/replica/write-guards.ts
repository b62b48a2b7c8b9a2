// The write guards' SQL, run in the domain's transaction under row locks: the exam, its reservation, seats, cancel state.
import { SEAT_HOLDING_STATUSES, type BookingRecord } from '../model/records.js'
import { BOOKINGS, recordJson } from './columns.js'
import type { Queryable } from './driver.js'

export interface LockedExam {
  hubspot_id: string
  capacity: number | null
  is_active: string | null
  deleted: boolean
  exam_date: string | null
  location: string | null
}

/**
 * Locks the exam row until the transaction ends. Every guard on one exam (creates, updates,
 * archive) passes through this lock, across instances, so what one guard reads and journals is
 * seen whole by the next.
 */
export async function lockExam(tx: Queryable, examId: string): Promise<LockedExam | null> {
  const { rows } = await tx.query<LockedExam>(
    `SELECT hubspot_id, capacity, is_active, deleted_at IS NOT NULL AS deleted, exam_date::text, location
       FROM public.hubspot_mock_exams WHERE hubspot_id = $1 FOR UPDATE`,
    [examId],
  )
  return rows[0] ?? null
}

/**
 * What the exam could become while its pending updates are in flight, and the seats it holds.
 * Read under lockExam: the reservation a create must fit under is the lowest capacity any
 * pending update could leave, and no pending update may be deactivating or archiving the exam.
 */
export interface ExamReservation {
  /** Seat-holding bookings in the replica plus creates in flight (pending intents). */
  taken: number
  /** The lowest capacity a pending exam update sets; null when none changes capacity. */
  pendingCapacity: number | null
  /** A pending update sets is_active false. */
  deactivating: boolean
  /** A pending archive. */
  archiving: boolean
}

export async function examReservation(tx: Queryable, examId: string): Promise<ExamReservation> {
  const { rows } = await tx.query<{
    taken: string
    pending_capacity: number | null
    deactivating: boolean | null
    archiving: boolean | null
  }>(
    `SELECT (SELECT count(*) FROM public.hubspot_bookings
              WHERE mock_exam_id = $1 AND deleted_at IS NULL AND booking_status = ANY($2::text[]))
          + (SELECT count(*) FROM hubmirror.write_intents i
              WHERE i.exam_id = $1 AND i.status = 'pending' AND i.kind = 'booking.create'
                AND NOT EXISTS (SELECT 1 FROM public.hubspot_bookings b WHERE b.booking_id = i.idempotency_key)) AS taken,
            u.pending_capacity, u.deactivating, u.archiving
       FROM (SELECT min((payload->>'capacity')::int) AS pending_capacity,
                    bool_or(kind = 'exam.update' AND payload->>'is_active' = 'false') AS deactivating,
                    bool_or(kind = 'exam.archive') AS archiving
               FROM hubmirror.write_intents
              WHERE exam_id = $1 AND status = 'pending' AND kind IN ('exam.update', 'exam.archive')) u`,
    [examId, SEAT_HOLDING_STATUSES],
  )
  const row = rows[0]
  return {
    taken: Number(row.taken),
    pendingCapacity: row.pending_capacity === null ? null : Number(row.pending_capacity),
    deactivating: row.deactivating === true,
    archiving: row.archiving === true,
  }
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
  attendance: string | null
  attending_location: string | null
  deleted: boolean
}

/**
 * The booking writes in flight on these bookings (pending intents, by target id): read under
 * lockBookings, so a cancel and an attendance write on one booking never fly together.
 */
export async function pendingBookingWrites(
  tx: Queryable,
  hubspotIds: readonly string[],
): Promise<Map<string, 'booking.cancel' | 'booking.attendance'>> {
  if (hubspotIds.length === 0) return new Map()
  const { rows } = await tx.query<{ target_id: string; kind: 'booking.cancel' | 'booking.attendance' }>(
    `SELECT target_id, kind FROM hubmirror.write_intents
      WHERE status = 'pending' AND kind IN ('booking.cancel', 'booking.attendance') AND target_id = ANY($1::text[])`,
    [hubspotIds],
  )
  return new Map(rows.map((row) => [row.target_id, row.kind]))
}

/** Locks bookings in id order (so two batches over the same ids cannot deadlock). */
export async function lockBookings(tx: Queryable, hubspotIds: readonly string[]): Promise<BookingState[]> {
  const { rows } = await tx.query<BookingState>(
    `SELECT hubspot_id, booking_id, mock_exam_id, booking_status, attendance, attending_location,
            deleted_at IS NOT NULL AS deleted
       FROM public.hubspot_bookings WHERE hubspot_id = ANY($1::text[]) ORDER BY hubspot_id COLLATE "C" FOR UPDATE`,
    [hubspotIds],
  )
  return rows
}

/** The replica record of a booking by its idempotency key (booking_id). */
export async function bookingByKey(db: Queryable, bookingId: string): Promise<Record<string, unknown> | null> {
  const { rows } = await db.query<{ record: Record<string, unknown> }>(
    `SELECT ${recordJson(BOOKINGS, 'b')} AS record FROM ${BOOKINGS.table} b WHERE b.booking_id = $1 AND b.deleted_at IS NULL`,
    [bookingId],
  )
  return rows[0]?.record ?? null
}

/** Bookings' API records by HubSpot id (deleted ones too), for answers about rows left as they were. */
export async function bookingsById(db: Queryable, hubspotIds: readonly string[]): Promise<BookingRecord[]> {
  const { rows } = await db.query<{ record: BookingRecord }>(
    `SELECT ${recordJson(BOOKINGS, 'b')} AS record FROM ${BOOKINGS.table} b WHERE b.hubspot_id = ANY($1::text[])`,
    [hubspotIds],
  )
  return rows.map((row) => row.record)
}

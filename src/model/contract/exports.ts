// The CSV exports' columns: one list per object, in file order; the header row is these names.
import { z } from 'zod'
import type { bookingRecord } from './bookings.js'
import { errorResponses } from './common.js'
import type { examRecord } from './exams.js'

type Column<Record extends z.ZodType> = keyof z.output<Record> & string

/**
 * A booking row of `GET /api/mock-exams/:id/bookings.csv`: who, how to reach them, and the fields an
 * admin marks on the day. The versioning columns (hs_lastmodifieddate, synced_at) are for machines
 * and stay in the JSON API.
 */
export const BOOKING_CSV_COLUMNS = [
  'hubspot_id',
  'booking_id',
  'mock_exam_id',
  'student_id',
  'student_name',
  'student_email',
  'booking_status',
  'attendance',
  'attending_location',
  'dominant_hand',
  'exam_date',
  'created_at',
  'updated_at',
] as const satisfies readonly Column<typeof bookingRecord>[]

/** An exam row of `GET /api/mock-exams.csv`. */
export const EXAM_CSV_COLUMNS = [
  'hubspot_id',
  'mock_exam_name',
  'mock_type',
  'exam_date',
  'start_time',
  'end_time',
  'location',
  'capacity',
  'total_bookings',
  'is_active',
  'created_at',
  'updated_at',
] as const satisfies readonly Column<typeof examRecord>[]

/** A CSV route's answers: the file (documented as text/csv), or the error envelope. */
export const csvResponses = {
  200: z.string().meta({ description: 'RFC 4180 CSV, UTF-8 with a byte order mark, a header row of the column names' }),
  ...errorResponses,
} as const

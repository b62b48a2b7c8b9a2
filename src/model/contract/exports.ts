// The CSV exports' columns, from the field catalogue: one list per object, in file order; the header row is these names.
import { z } from 'zod'
import { BOOKING_FIELDS } from '../objects/booking.js'
import { EXAM_FIELDS } from '../objects/exam.js'
import { csvColumns } from '../objects/field.js'
import { errorResponses } from './common.js'

/**
 * A booking row of `GET /api/mock-exams/:id/bookings.csv`: who, how to reach them, and the fields an
 * admin marks on the day (the catalogue's `csv` fields). The versioning columns (hs_lastmodifieddate,
 * synced_at) are for machines and stay in the JSON API.
 */
export const BOOKING_CSV_COLUMNS: readonly string[] = csvColumns(BOOKING_FIELDS)

/** An exam row of `GET /api/mock-exams.csv`. */
export const EXAM_CSV_COLUMNS: readonly string[] = csvColumns(EXAM_FIELDS)

/** A CSV route's answers: the file (documented as text/csv), or the error envelope. */
export const csvResponses = {
  200: z.string().meta({ description: 'RFC 4180 CSV, UTF-8 with a byte order mark, a header row of the column names' }),
  ...errorResponses,
} as const

// The HTTP contract of GET /api/bookings?q=: finding a student's bookings across exams.
import { z } from 'zod'
import { bookingRecord } from './bookings.js'
import { errorResponses, success } from './common.js'

/** Rows per page when `limit` is not given, and the most a page may hold. */
export const SEARCH_DEFAULT_LIMIT = 20
export const SEARCH_MAX_LIMIT = 100

/**
 * A trigram index can narrow a search only by a run of three letters or digits (pg_trgm makes
 * trigrams of words); anything shorter would read every booking, so it is refused up front.
 */
const SEARCHABLE_RUN = /[\p{L}\p{N}]{3}/u

export const bookingSearchQuery = z.object({
  q: z
    .string()
    .trim()
    .max(100, 'must be at most 100 characters')
    .regex(/^[^\p{Cc}]*$/u, 'must not contain control characters')
    .regex(SEARCHABLE_RUN, 'must contain at least 3 letters or digits in a row (part of a name, email or student id)')
    .meta({ description: 'part of a student name, email or student id; case does not matter' }),
  limit: z.coerce
    .number()
    .int('must be a whole number')
    .min(1, 'must be at least 1')
    .max(SEARCH_MAX_LIMIT, `must be at most ${SEARCH_MAX_LIMIT}`)
    .default(SEARCH_DEFAULT_LIMIT),
  cursor: z
    .string()
    .max(200, 'must be a next_cursor from a previous page')
    .optional()
    .meta({ description: "the previous page's next_cursor" }),
})

/** The exam a found booking is on, so that a person can tell bookings apart. */
export const examSummary = z
  .object({
    hubspot_id: z.string(),
    mock_exam_name: z.string().nullable(),
    mock_type: z.string().nullable(),
    exam_date: z.string().nullable().meta({ description: 'YYYY-MM-DD' }),
    start_time: z.string().nullable(),
    end_time: z.string().nullable(),
    location: z.string().nullable(),
    is_active: z.string().nullable(),
    archived: z.boolean(),
  })
  .meta({ id: 'ExamSummary' })

export const bookingSearchHit = bookingRecord
  .extend({ exam: examSummary.nullable().meta({ description: 'null when the replica does not hold the exam' }) })
  .meta({ id: 'BookingSearchHit' })

export const bookingSearchBody = success({
  bookings: z.array(bookingSearchHit),
  next_cursor: z.string().nullable().meta({ description: 'pass as cursor for the next page; null on the last page' }),
})

export const searchResponses = { 200: bookingSearchBody, ...errorResponses } as const

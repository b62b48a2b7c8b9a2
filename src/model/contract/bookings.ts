// The HTTP contract of bookings: the booking record, create/cancel/batch-cancel bodies and their answers.
import { z } from 'zod'
import { BOOKING_FIELDS, IDEMPOTENCY_KEY, IDEMPOTENCY_KEY_RULE } from '../objects/booking.js'
import { recordShape, writableShape } from '../objects/field.js'
import { changeShape, errorResponses, hubspotId, nextCursor, pageQuery, seqCursor, success } from './common.js'

/** A booking as the API serves it: the seed's field names plus hubspot_id and the replica's versioning. */
export const bookingRecord = z.object(recordShape(BOOKING_FIELDS)).meta({ id: 'Booking' })

export { IDEMPOTENCY_KEY, IDEMPOTENCY_KEY_RULE }

export const bookingCreate = z.strictObject({ examId: hubspotId, ...writableShape(BOOKING_FIELDS, 'create') })

export const batchCancel = z.strictObject({
  bookingIds: z.array(hubspotId).min(1, 'must list at least one id').max(500, 'at most 500 ids per request'),
})

const attendanceFields = writableShape(BOOKING_FIELDS, 'update')
const updatable = Object.keys(attendanceFields)
const changesSomething = (update: Record<string, unknown>) => updatable.some((field) => update[field] !== undefined)
const nothingToChange = `must set ${updatable.join(' or ')}`

/** PATCH /api/bookings/:id: attendance and where the student sat; other fields are not writable here. */
export const attendancePatch = z
  .strictObject(attendanceFields)
  .refine(changesSomething, { message: nothingToChange, path: ['attendance'] })

/** POST /api/bookings/batch-attendance: one update per booking, ids distinct. */
export const batchAttendance = z.strictObject({
  updates: z
    .array(
      z
        .strictObject({ id: hubspotId, ...attendanceFields })
        .refine(changesSomething, { message: nothingToChange, path: ['attendance'] }),
    )
    .min(1, 'must list at least one update')
    .max(500, 'at most 500 updates per request')
    .superRefine((updates, context) => {
      const seen = new Set<string>()
      updates.forEach((update, i) => {
        if (seen.has(update.id)) context.addIssue({ code: 'custom', message: 'is listed twice', path: [i, 'id'] })
        seen.add(update.id)
      })
    }),
})

export const bookingsBody = success({ bookings: z.array(bookingRecord), next_cursor: nextCursor })
export const bookingListQuery = z.object(pageQuery)
export const bookingBody = success({ booking: bookingRecord })
export const bookingCreatedBody = success({
  booking: bookingRecord,
  replayed: z.boolean().meta({ description: 'true: this key booked before; the first booking is returned' }),
})

/** One id's outcome in a batch cancel; extra fields (the booking, a retry hint) may be added by the write path. */
export const batchCancelResult = z.looseObject({
  id: z.string(),
  success: z.boolean(),
  outcome: z.string().meta({ description: '"cancelled", or the error code of this row' }),
  error: z.object({ code: z.string(), message: z.string() }).optional(),
})

export const batchCancelBody = success({
  results: z.array(batchCancelResult),
  cancelled: z.number().int(),
  failed: z.number().int(),
})

export const attendanceBody = success({
  booking: bookingRecord,
  changed: z.boolean().meta({ description: 'false: the booking already read so; nothing was sent to HubSpot' }),
})

/** One booking's outcome in a batch attendance update. */
export const batchAttendanceResult = z.object({
  id: z.string(),
  success: z.boolean(),
  outcome: z.string().meta({ description: '"updated", "unchanged", or the error code of this row' }),
  booking: bookingRecord.optional(),
  error: z.object({ code: z.string(), message: z.string() }).optional(),
})

export const batchAttendanceBody = success({
  results: z.array(batchAttendanceResult),
  updated: z.number().int(),
  unchanged: z.number().int(),
  failed: z.number().int(),
})

/** One change to a record, as its history lists it (a change event without the row). */
export const historyEntry = z.object(changeShape).meta({ id: 'HistoryEntry' })

export const historyQuery = z.object({
  limit: z.coerce
    .number()
    .int('must be a whole number')
    .min(1, 'must be at least 1')
    .max(500, 'must be at most 500')
    .default(50),
  cursor: seqCursor.optional().meta({ description: "the previous page's next_cursor" }),
})

export const historyBody = success({
  history: z.array(historyEntry).meta({ description: 'newest first' }),
  next_cursor: z.string().nullable().meta({ description: 'pass as cursor for older entries; null on the last page' }),
})

export const bookingResponses = {
  list: { 200: bookingsBody, ...errorResponses },
  created: { 200: bookingCreatedBody, 201: bookingCreatedBody, ...errorResponses },
  cancelled: { 200: bookingBody, ...errorResponses },
  batch: { 200: batchCancelBody, ...errorResponses },
  attendance: { 200: attendanceBody, ...errorResponses },
  batchAttendance: { 200: batchAttendanceBody, ...errorResponses },
  history: { 200: historyBody, ...errorResponses },
} as const

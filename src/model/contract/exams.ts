// The HTTP contract of /api/mock-exams: the exam record, list filters, create/update bodies and every answer.
import { z } from 'zod'
import { errorResponses, isoDate, nextCursor, pageQuery, success } from './common.js'

const text = z.string().nullable()

/** A mock exam as the API serves it: the seed's field names plus hubspot_id and the replica's versioning. */
export const examRecord = z
  .object({
    hubspot_id: z.string(),
    mock_exam_name: text,
    mock_type: text,
    exam_date: text.meta({ description: 'YYYY-MM-DD' }),
    start_time: text.meta({ description: 'HH:MM, 24-hour' }),
    end_time: text.meta({ description: 'HH:MM, 24-hour' }),
    location: text,
    capacity: z.number().int().nullable(),
    total_bookings: z.number().int(),
    is_active: text.meta({ description: '"true" or "false", text as in the seed' }),
    created_at: text,
    updated_at: text,
    hs_lastmodifieddate: z.string().meta({ description: 'ISO 8601; the version of the row' }),
    deleted_at: text,
    synced_at: text.optional().meta({ description: 'when the replica last wrote the row (reads only)' }),
  })
  .meta({ id: 'Exam' })

export const examListQuery = z.object({
  is_active: z.enum(['true', 'false']).optional(),
  startDate: isoDate.optional(),
  endDate: isoDate.optional(),
  ...pageQuery,
})

const clock = z.string().regex(/^([01]\d|2[0-3]):[0-5]\d$/, 'must be a time as HH:MM (24-hour)')
export const name = (max: number) =>
  z.string().trim().min(1, 'must not be empty').max(max, `must be at most ${max} characters`)

const examFields = {
  mock_exam_name: name(200),
  mock_type: name(100),
  exam_date: isoDate,
  start_time: clock,
  end_time: clock,
  location: name(200),
  capacity: z.number().int('must be a whole number').min(1, 'must be at least 1').max(10_000, 'must be at most 10000'),
  is_active: z.boolean().optional(),
}

const endsAfterStart = (exam: { start_time?: string; end_time?: string }) =>
  !exam.start_time || !exam.end_time || exam.end_time > exam.start_time
const endAfterStartIssue = { message: 'must be later than start_time', path: ['end_time'] }

export const examCreate = z.strictObject(examFields).refine(endsAfterStart, endAfterStartIssue)
export const examPatch = z
  .strictObject(
    Object.fromEntries(Object.entries(examFields).map(([k, v]) => [k, v.optional()])) as {
      [K in keyof typeof examFields]: z.ZodOptional<(typeof examFields)[K]>
    },
  )
  .refine((patch) => Object.keys(patch).length > 0, { message: 'must change at least one field', path: ['body'] })
  .refine(endsAfterStart, endAfterStartIssue)
export const activateBody = z.strictObject({ is_active: z.boolean() })

const countRow = { exams: z.number().int(), capacity: z.number().int(), bookings: z.number().int() }
export const aggregates = z
  .object({
    total_exams: z.number().int(),
    active_exams: z.number().int(),
    total_capacity: z.number().int(),
    total_bookings: z.number().int(),
    utilization: z.number().meta({ description: '0..1' }),
    by_type: z.array(z.object({ mock_type: z.string().nullable(), ...countRow })),
    by_location: z.array(z.object({ location: z.string().nullable(), ...countRow })),
    by_date: z.array(z.object({ exam_date: z.string().nullable(), ...countRow })),
  })
  .meta({ id: 'Aggregates' })

export const examsBody = success({ exams: z.array(examRecord), next_cursor: nextCursor })
export const examBody = success({ exam: examRecord })
export const aggregatesBody = success({ aggregates })
export const archiveBody = success({ archived: z.literal(true) })

export const examResponses = {
  list: { 200: examsBody, ...errorResponses },
  one: { 200: examBody, ...errorResponses },
  aggregates: { 200: aggregatesBody, ...errorResponses },
  created: { 201: examBody, ...errorResponses },
  archived: { 200: archiveBody, ...errorResponses },
} as const

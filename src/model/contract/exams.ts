// The HTTP contract of /api/mock-exams: the exam record, list filters, create/update bodies and every answer.
import { z } from 'zod'
import { EXAM_FIELDS } from '../objects/exam.js'
import { recordShape, writableShape } from '../objects/field.js'
import { errorResponses, isoDate, nextCursor, pageQuery, success } from './common.js'

/** A mock exam as the API serves it: the seed's field names plus hubspot_id and the replica's versioning. */
export const examRecord = z.object(recordShape(EXAM_FIELDS)).meta({ id: 'Exam' })

export const examListQuery = z.object({
  is_active: z.enum(['true', 'false']).optional(),
  startDate: isoDate.optional(),
  endDate: isoDate.optional(),
  ...pageQuery,
})

const examFields = writableShape(EXAM_FIELDS, 'create')

const endsAfterStart = (exam: { start_time?: string; end_time?: string }) =>
  !exam.start_time || !exam.end_time || exam.end_time > exam.start_time
const endAfterStartIssue = { message: 'must be later than start_time', path: ['end_time'] }

export const examCreate = z.strictObject(examFields).refine(endsAfterStart, endAfterStartIssue)
export const examPatch = z
  .strictObject(writableShape(EXAM_FIELDS, 'update'))
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

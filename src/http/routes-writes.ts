// The write endpoints: exams (create, update, archive, activate) and bookings (create, cancel, batch-cancel).
import type { FastifyInstance, FastifyRequest } from 'fastify'
import type { ZodTypeProvider } from 'fastify-type-provider-zod'
import { z } from 'zod'
import type { WriteService } from '../bookings/write-service.js'
import { AppError } from '../errors.js'
import { bearerToken } from './auth.js'
import { hubspotId, idParams, isoDate } from './schemas.js'

/** What a usable idempotency key looks like, in the header and as booking_id. */
const KEY_PATTERN = /^[A-Za-z0-9._:-]{8,100}$/
const KEY_RULE = 'must be 8-100 characters of letters, digits, . _ : -'
const KEY_HEADER = 'Idempotency-Key'

const clock = z.string().regex(/^([01]\d|2[0-3]):[0-5]\d$/, 'must be a time as HH:MM (24-hour)')
const name = (max: number) =>
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

const examCreate = z.strictObject(examFields).refine(endsAfterStart, endAfterStartIssue)
const examPatch = z
  .strictObject(
    Object.fromEntries(Object.entries(examFields).map(([k, v]) => [k, v.optional()])) as {
      [K in keyof typeof examFields]: z.ZodOptional<(typeof examFields)[K]>
    },
  )
  .refine((patch) => Object.keys(patch).length > 0, { message: 'must change at least one field', path: ['body'] })
  .refine(endsAfterStart, endAfterStartIssue)

const bookingCreate = z.strictObject({
  examId: hubspotId,
  booking_id: z.string().regex(KEY_PATTERN, KEY_RULE).optional(),
  student_name: name(200),
  student_email: z.email('must be an email address').max(254),
  student_id: name(100).optional(),
  contact_id: hubspotId.optional(),
  dominant_hand: z.enum(['left', 'right']).optional(),
  attending_location: name(200).optional(),
})

const batchCancel = z.strictObject({
  bookingIds: z.array(hubspotId).min(1, 'must list at least one id').max(500, 'at most 500 ids per request'),
})
const activate = z.strictObject({ is_active: z.boolean() })

export function registerWriteRoutes(root: FastifyInstance, writes: WriteService): void {
  const app = root.withTypeProvider<ZodTypeProvider>()
  const examsEdit = { permission: 'exams.edit' as const }
  const bookingsEdit = { permission: 'bookings.edit' as const }

  app.post(
    '/api/mock-exams',
    { config: examsEdit, schema: { tags: ['exams'], summary: 'Create a mock exam (HubSpot first)', body: examCreate } },
    async (request, reply) => reply.status(201).send({ success: true, exam: await writes.createExam(request.body) }),
  )

  app.patch(
    '/api/mock-exams/:id',
    {
      config: examsEdit,
      schema: { tags: ['exams'], summary: 'Update a mock exam', params: idParams, body: examPatch },
    },
    async (request) => ({
      success: true,
      exam: await writes.updateExam(request.params.id, request.body),
    }),
  )

  app.delete(
    '/api/mock-exams/:id',
    { config: examsEdit, schema: { tags: ['exams'], summary: 'Archive a mock exam', params: idParams } },
    async (request) => {
      await writes.archiveExam(request.params.id)
      return { success: true, archived: true }
    },
  )

  app.post(
    '/api/mock-exams/:id/activate',
    {
      config: examsEdit,
      schema: { tags: ['exams'], summary: 'Activate or deactivate', params: idParams, body: activate },
    },
    async (request) => ({
      success: true,
      exam: await writes.updateExam(request.params.id, { is_active: request.body.is_active }),
    }),
  )

  app.post(
    '/api/bookings',
    {
      config: bookingsEdit,
      schema: {
        tags: ['bookings'],
        summary: 'Book a seat; 409 E_EXAM_FULL when full; idempotent on booking_id',
        body: bookingCreate,
      },
    },
    async (request, reply) => {
      const header = idempotencyHeader(request, request.body.booking_id)
      const { booking, created } = await writes.createBooking(
        { ...request.body, booking_id: request.body.booking_id ?? header },
        { subject: tokenSubject(request), keyField: header === undefined ? 'booking_id' : KEY_HEADER },
      )
      return reply.status(created ? 201 : 200).send({ success: true, booking, replayed: !created })
    },
  )

  app.post(
    '/api/bookings/:id/cancel',
    {
      config: bookingsEdit,
      schema: { tags: ['bookings'], summary: 'Cancel a booking; 409 when already cancelled', params: idParams },
    },
    async (request) => ({
      success: true,
      booking: await writes.cancelBooking(request.params.id),
    }),
  )

  app.post(
    '/api/bookings/batch-cancel',
    {
      config: bookingsEdit,
      schema: { tags: ['bookings'], summary: 'Cancel many bookings, reporting per id', body: batchCancel },
    },
    async (request) => {
      const outcomes = await writes.cancelBookings(request.body.bookingIds)
      // outcome: 'cancelled' or the row's error code, so a client can switch on one field.
      const results = outcomes.map((o) =>
        o.success
          ? { id: o.id, success: true, outcome: 'cancelled' }
          : {
              id: o.id,
              success: false,
              outcome: o.error.code,
              error: { code: o.error.code, message: o.error.message },
            },
      )
      const cancelled = results.filter((r) => r.success).length
      return { success: true, results, cancelled, failed: results.length - cancelled }
    },
  )
}

/**
 * The Idempotency-Key header, when sent: a key the server cannot use is refused (400), never
 * ignored, since a client that sent one will retry on the promise that it books once.
 */
function idempotencyHeader(request: FastifyRequest, bookingId: string | undefined): string | undefined {
  const raw = request.headers['idempotency-key']
  if (raw === undefined) return undefined
  const refuse = (message: string) =>
    new AppError('E_VALIDATION', `${KEY_HEADER}: ${message}`, { field: KEY_HEADER, details: { in: 'headers' } })
  if (typeof raw !== 'string' || !KEY_PATTERN.test(raw)) throw refuse(KEY_RULE)
  if (bookingId !== undefined && bookingId !== raw) throw refuse('must equal booking_id when both are sent')
  return raw
}

/**
 * The verified token's subject (auth checked the signature in onRequest): a key is bound to who
 * sent it, so another caller's identical body is not their retry.
 */
function tokenSubject(request: FastifyRequest): string {
  const token = bearerToken(request)
  try {
    const claims = JSON.parse(Buffer.from(token?.split('.')[1] ?? '', 'base64url').toString('utf8')) as {
      sub?: unknown
    }
    return typeof claims.sub === 'string' ? claims.sub : ''
  } catch {
    return ''
  }
}

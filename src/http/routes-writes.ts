// The write endpoints: exams (create, update, archive, activate) and bookings (create, cancel, batch-cancel).
import type { FastifyInstance } from 'fastify'
import type { ZodTypeProvider } from 'fastify-type-provider-zod'
import { z } from 'zod'
import type { WriteService } from '../bookings/write-service.js'
import { hubspotId, idParams, isoDate } from './schemas.js'

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
  booking_id: z
    .string()
    .regex(/^[A-Za-z0-9._:-]{8,100}$/, 'must be 8-100 characters of letters, digits, . _ : -')
    .optional(),
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
      const key = request.headers['idempotency-key']
      const bookingId =
        request.body.booking_id ?? (typeof key === 'string' && /^[A-Za-z0-9._:-]{8,100}$/.test(key) ? key : undefined)
      const { booking, created } = await writes.createBooking({ ...request.body, booking_id: bookingId })
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
      const results = outcomes.map((o) =>
        o.success
          ? { id: o.id, success: true }
          : { id: o.id, success: false, error: { code: o.error.code, message: o.error.message } },
      )
      const cancelled = results.filter((r) => r.success).length
      return { success: true, results, cancelled, failed: results.length - cancelled }
    },
  )
}

// The write endpoints: exams (create, update, archive, activate) and bookings (create, cancel, batch-cancel).
import type { FastifyInstance } from 'fastify'
import type { ZodTypeProvider } from 'fastify-type-provider-zod'
import type { WriteService } from '../bookings/write-service.js'
import { batchCancel, bookingCreate, bookingResponses, IDEMPOTENCY_KEY } from './contract/bookings.js'
import { idParams } from './contract/common.js'
import { activateBody, examCreate, examPatch, examResponses } from './contract/exams.js'

export function registerWriteRoutes(root: FastifyInstance, writes: WriteService): void {
  const app = root.withTypeProvider<ZodTypeProvider>()
  const examsEdit = { permission: 'exams.edit' as const }
  const bookingsEdit = { permission: 'bookings.edit' as const }

  app.post(
    '/api/mock-exams',
    {
      config: examsEdit,
      schema: {
        tags: ['exams'],
        summary: 'Create a mock exam (HubSpot first)',
        body: examCreate,
        response: examResponses.created,
      },
    },
    async (request, reply) =>
      reply.status(201).send({ success: true as const, exam: await writes.createExam(request.body) }),
  )

  app.patch(
    '/api/mock-exams/:id',
    {
      config: examsEdit,
      schema: {
        tags: ['exams'],
        summary: 'Update a mock exam',
        params: idParams,
        body: examPatch,
        response: examResponses.one,
      },
    },
    async (request) => ({
      success: true as const,
      exam: await writes.updateExam(request.params.id, request.body),
    }),
  )

  app.delete(
    '/api/mock-exams/:id',
    {
      config: examsEdit,
      schema: { tags: ['exams'], summary: 'Archive a mock exam', params: idParams, response: examResponses.archived },
    },
    async (request) => {
      await writes.archiveExam(request.params.id)
      return { success: true as const, archived: true as const }
    },
  )

  app.post(
    '/api/mock-exams/:id/activate',
    {
      config: examsEdit,
      schema: {
        tags: ['exams'],
        summary: 'Activate or deactivate',
        params: idParams,
        body: activateBody,
        response: examResponses.one,
      },
    },
    async (request) => ({
      success: true as const,
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
        response: bookingResponses.created,
      },
    },
    async (request, reply) => {
      const key = request.headers['idempotency-key']
      const bookingId =
        request.body.booking_id ?? (typeof key === 'string' && IDEMPOTENCY_KEY.test(key) ? key : undefined)
      const { booking, created } = await writes.createBooking({ ...request.body, booking_id: bookingId })
      return reply.status(created ? 201 : 200).send({ success: true as const, booking, replayed: !created })
    },
  )

  app.post(
    '/api/bookings/:id/cancel',
    {
      config: bookingsEdit,
      schema: {
        tags: ['bookings'],
        summary: 'Cancel a booking; 409 when already cancelled',
        params: idParams,
        response: bookingResponses.cancelled,
      },
    },
    async (request) => ({
      success: true as const,
      booking: await writes.cancelBooking(request.params.id),
    }),
  )

  app.post(
    '/api/bookings/batch-cancel',
    {
      config: bookingsEdit,
      schema: {
        tags: ['bookings'],
        summary: 'Cancel many bookings, reporting per id',
        body: batchCancel,
        response: bookingResponses.batch,
      },
    },
    async (request) => {
      const outcomes = await writes.cancelBookings(request.body.bookingIds)
      const results = outcomes.map((o) =>
        o.success
          ? { id: o.id, success: true }
          : { id: o.id, success: false, error: { code: o.error.code, message: o.error.message } },
      )
      const cancelled = results.filter((r) => r.success).length
      return { success: true as const, results, cancelled, failed: results.length - cancelled }
    },
  )
}

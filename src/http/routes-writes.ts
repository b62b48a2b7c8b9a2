// The write endpoints: exams (create, update, archive, activate) and bookings (create, cancel, batch-cancel).
import type { FastifyInstance, FastifyRequest } from 'fastify'
import type { ZodTypeProvider } from 'fastify-type-provider-zod'
import type { AttendanceOutcome, WriteService } from '../bookings/write-service.js'
import { AppError } from '../errors.js'
import { verifiedToken } from './auth.js'
import {
  attendancePatch,
  batchAttendance,
  batchCancel,
  bookingCreate,
  bookingResponses,
  IDEMPOTENCY_KEY as KEY_PATTERN,
  IDEMPOTENCY_KEY_RULE as KEY_RULE,
} from '../model/contract/bookings.js'
import { idParams } from '../model/contract/common.js'
import { activateBody, examCreate, examPatch, examResponses } from '../model/contract/exams.js'

const KEY_HEADER = 'Idempotency-Key'

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
      reply
        .status(201)
        .send({ success: true as const, exam: await writes.createExam(request.body, subjectOf(request)) }),
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
      exam: await writes.updateExam(request.params.id, request.body, subjectOf(request)),
    }),
  )

  app.delete(
    '/api/mock-exams/:id',
    {
      config: examsEdit,
      schema: { tags: ['exams'], summary: 'Archive a mock exam', params: idParams, response: examResponses.archived },
    },
    async (request) => {
      await writes.archiveExam(request.params.id, subjectOf(request))
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
      exam: await writes.updateExam(request.params.id, { is_active: request.body.is_active }, subjectOf(request)),
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
      const header = idempotencyHeader(request, request.body.booking_id)
      const { booking, created } = await writes.createBooking(
        { ...request.body, booking_id: request.body.booking_id ?? header },
        {
          subject: subjectOf(request),
          scope: verifiedToken(request).caller,
          keyField: header === undefined ? 'booking_id' : KEY_HEADER,
        },
      )
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
      booking: await writes.cancelBooking(request.params.id, subjectOf(request)),
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
      const outcomes = await writes.cancelBookings(request.body.bookingIds, subjectOf(request))
      // outcome: 'cancelled' or the row's error code, so a client can switch on one field.
      const results = outcomes.map((o) =>
        o.success
          ? { id: o.id, success: true, outcome: 'cancelled' as const }
          : {
              id: o.id,
              success: false,
              outcome: o.error.code,
              error: { code: o.error.code, message: o.error.message },
            },
      )
      const cancelled = results.filter((r) => r.success).length
      return { success: true as const, results, cancelled, failed: results.length - cancelled }
    },
  )

  app.patch(
    '/api/bookings/:id',
    {
      config: bookingsEdit,
      schema: {
        tags: ['bookings'],
        summary: 'Mark attendance and where the student sat; 409 E_BOOKING_CANCELLED on a cancelled booking',
        params: idParams,
        body: attendancePatch,
        response: bookingResponses.attendance,
      },
    },
    async (request) => {
      const [outcome] = await writes.setAttendance([{ id: request.params.id, ...request.body }], subjectOf(request))
      if (!outcome.success) throw outcome.error
      return { success: true as const, booking: outcome.booking, changed: outcome.changed }
    },
  )

  app.post(
    '/api/bookings/batch-attendance',
    {
      config: bookingsEdit,
      schema: {
        tags: ['bookings'],
        summary: 'Mark attendance on many bookings, reporting per id',
        body: batchAttendance,
        response: bookingResponses.batchAttendance,
      },
    },
    async (request) => {
      const outcomes = await writes.setAttendance(request.body.updates, subjectOf(request))
      const results = outcomes.map(attendanceResult)
      const count = (outcome: string) => results.filter((r) => r.outcome === outcome).length
      const failed = results.filter((r) => !r.success).length
      return { success: true as const, results, updated: count('updated'), unchanged: count('unchanged'), failed }
    },
  )
}

/** One row of a batch answer: `outcome` is `updated`, `unchanged` or the row's error code, to switch on. */
function attendanceResult(o: AttendanceOutcome) {
  return o.success
    ? { id: o.id, success: true, outcome: o.changed ? 'updated' : 'unchanged', booking: o.booking }
    : { id: o.id, success: false, outcome: o.error.code, error: { code: o.error.code, message: o.error.message } }
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

/** Who the change log names for this request's writes: the verified token's `sub`, if it has one. */
function subjectOf(request: FastifyRequest): string | undefined {
  return verifiedToken(request).subject ?? undefined
}

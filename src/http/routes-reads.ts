// The read endpoints: exams, one exam, its bookings, aggregates; bytes straight from the cache.
import type { FastifyInstance, FastifyReply } from 'fastify'
import type { ZodTypeProvider } from 'fastify-type-provider-zod'
import type { ReadService } from '../bookings/read-service.js'
import type { CacheEntry } from '../cache/index.js'
import { invalidField } from '../errors.js'
import { decodeCursor, type CursorKind } from '../bookings/page-cursor.js'
import { bookingListQuery, bookingResponses, historyQuery } from '../model/contract/bookings.js'
import type { PageRequest } from '../replica/index.js'
import { idParams } from '../model/contract/common.js'
import { examListQuery, examResponses } from '../model/contract/exams.js'

export function sendEntry(reply: FastifyReply, entry: CacheEntry): FastifyReply {
  return reply.header('x-replica-seq', entry.seq).type('application/json; charset=utf-8').send(entry.body)
}

/** A keyset page when `limit` is given; a cursor without it is refused rather than ignored. */
function pageRequest(kind: CursorKind, limit: number | undefined, cursor: string | undefined): PageRequest | null {
  if (limit === undefined) {
    if (cursor !== undefined) throw invalidField('limit', 'is needed with cursor (the page size the cursor continues)')
    return null
  }
  return { limit, after: cursor === undefined ? null : decodeCursor(kind, cursor) }
}

export function registerReadRoutes(root: FastifyInstance, reads: ReadService): void {
  const app = root.withTypeProvider<ZodTypeProvider>()
  const view = { permission: 'exams.view' as const }

  app.get(
    '/api/mock-exams',
    {
      config: view,
      schema: {
        tags: ['exams'],
        summary: 'List mock exams from the replica (whole, or a keyset page with limit and cursor)',
        querystring: examListQuery,
        response: examResponses.list,
      },
    },
    async (request, reply) => {
      const { is_active, startDate, endDate, limit, cursor } = request.query
      if (startDate && endDate && startDate > endDate) throw invalidField('endDate', 'must not be before startDate')
      const filters = { isActive: is_active, startDate, endDate }
      const page = pageRequest('exams', limit, cursor)
      return sendEntry(reply, await (page ? reads.listExamsPage(filters, page) : reads.listExams(filters)))
    },
  )

  // Registered before /:id so that "aggregates" is not taken for an id.
  app.get(
    '/api/mock-exams/aggregates',
    {
      config: view,
      schema: {
        tags: ['exams'],
        summary: 'Counts by type, location and date; capacity use',
        response: examResponses.aggregates,
      },
    },
    async (_request, reply) => sendEntry(reply, await reads.aggregates()),
  )

  app.get(
    '/api/mock-exams/:id',
    {
      config: view,
      schema: { tags: ['exams'], summary: 'One mock exam', params: idParams, response: examResponses.one },
    },
    async (request, reply) => sendEntry(reply, await reads.getExam(request.params.id)),
  )

  app.get(
    '/api/mock-exams/:id/bookings',
    {
      config: view,
      schema: {
        tags: ['exams'],
        summary: "An exam's bookings (whole, or a keyset page with limit and cursor)",
        params: idParams,
        querystring: bookingListQuery,
        response: bookingResponses.list,
      },
    },
    async (request, reply) => {
      const page = pageRequest('bookings', request.query.limit, request.query.cursor)
      const { id } = request.params
      return sendEntry(reply, await (page ? reads.examBookingsPage(id, page) : reads.examBookings(id)))
    },
  )

  // Kept after the change log's retention prunes it: the record's history (hubmirror.record_history).
  for (const [kind, path, tag] of [
    ['exam', '/api/mock-exams/:id/history', 'exams'],
    ['booking', '/api/bookings/:id/history', 'bookings'],
  ] as const)
    app.get(
      path,
      {
        config: view,
        schema: {
          tags: [tag],
          summary: `Every change to the ${kind} since it entered the replica, newest first (keyset-paginated)`,
          params: idParams,
          querystring: historyQuery,
          response: bookingResponses.history,
        },
      },
      async (request) => {
        const { entries, next_cursor } = await reads.history(kind, request.params.id, request.query)
        return { success: true as const, history: entries, next_cursor }
      },
    )
}

// GET /api/bookings?q=: a student's bookings across exams, a page at a time.
import type { FastifyInstance } from 'fastify'
import type { ZodTypeProvider } from 'fastify-type-provider-zod'
import { findBookings } from '../bookings/search.js'
import { bookingSearchQuery, searchResponses } from '../model/contract/search.js'
import type { Queryable } from '../replica/index.js'
import { sendEntry } from './routes-reads.js'

export function registerSearchRoutes(root: FastifyInstance, db: Queryable): void {
  root.withTypeProvider<ZodTypeProvider>().get(
    '/api/bookings',
    {
      config: { permission: 'exams.view' },
      schema: {
        tags: ['bookings'],
        summary: "Find bookings by part of a student's name, email or student id, across exams; newest first",
        querystring: bookingSearchQuery,
        response: searchResponses,
      },
    },
    async (request, reply) => sendEntry(reply, await findBookings(db, request.query)),
  )
}

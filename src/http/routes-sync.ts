// The sync endpoints: on-demand pull, status for the dashboard, and the seed's force sync.
import type { FastifyInstance, FastifyRequest } from 'fastify'
import type { ZodTypeProvider } from 'fastify-type-provider-zod'
import { z } from 'zod'
import { invalidField } from '../errors.js'
import type { SyncEngine } from '../sync/index.js'
import { bearerToken } from './auth.js'
import { hubspotId } from './schemas.js'
import { tokenSubject } from './stream-limits.js'

export interface SyncRouteOptions {
  /** How long POST /api/sync/pull waits for its pull before answering 202 (a first backfill can take minutes). */
  pullWaitMs?: number
}

const syncType = z.enum(['exams', 'bookings'], { message: 'must be "exams" or "bookings"' })

const pullBody = z
  .object({
    types: z.array(syncType).min(1).max(2).optional(),
    exam_ids: z.array(hubspotId).min(1).max(500).optional(),
  })
  .strict()
  // A bare POST (no body at all, which Fastify hands over as null) is a pull of everything.
  .nullish()

const forceQuery = z.object({
  type: syncType,
  examId: hubspotId.optional(),
})

export function registerSyncRoutes(root: FastifyInstance, sync: SyncEngine, options: SyncRouteOptions = {}): void {
  const app = root.withTypeProvider<ZodTypeProvider>()
  const pullWaitMs = options.pullWaitMs ?? 20_000

  app.post(
    '/api/sync/pull',
    {
      config: { permission: 'sync.run' },
      schema: {
        tags: ['sync'],
        summary: 'Pull changes from HubSpot now (all, some types, or a few exams and their bookings)',
        body: pullBody,
      },
    },
    async (request, reply) => {
      const body = request.body ?? {}
      const pull = sync.pull({ types: body.types, examIds: body.exam_ids, reason: 'demand', caller: callerOf(request) })
      const result = await Promise.race([pull, delay(pullWaitMs)])
      if (result === null) {
        // Still running (a first backfill): it goes on; the client sees its end in /api/sync/status.
        pull.catch(() => undefined)
        return reply.status(202).send({
          success: true,
          completed: false,
          message: 'the pull is still running; follow it in /api/sync/status',
        })
      }
      return { success: true, completed: result.started, result }
    },
  )

  app.get(
    '/api/sync/status',
    {
      config: { permission: 'exams.view' },
      schema: { tags: ['sync'], summary: 'Cursors, last pulls, lag, HubSpot budget, drift, watchers' },
    },
    async () => ({
      success: true,
      status: await sync.status(),
    }),
  )

  app.post(
    '/api/admin/sync/force',
    {
      // It spends the HubSpot budget like any pull: the same grant as POST /api/sync/pull.
      config: { permission: 'sync.run' },
      schema: {
        tags: ['sync'],
        summary: 'Re-sync from HubSpot: ?type=exams, or ?type=bookings&examId=ID',
        querystring: forceQuery,
      },
    },
    async (request) => {
      const { type, examId } = request.query
      if (type === 'bookings' && !examId) throw invalidField('examId', 'required when type=bookings')
      const { count } = await sync.forceSync(type, type === 'bookings' ? examId : undefined, callerOf(request))
      return { success: true, message: `Synced ${count} ${type}`, count }
    },
  )
}

/** Pulls are bounded per token subject, like streams. */
function callerOf(request: FastifyRequest): string {
  return tokenSubject(bearerToken(request))
}

function delay(ms: number): Promise<null> {
  return new Promise((resolve) => setTimeout(() => resolve(null), ms).unref())
}

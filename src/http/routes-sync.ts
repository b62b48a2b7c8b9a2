// The sync endpoints: on-demand pull, status for the dashboard, reconcile, and the seed's force sync.
import type { FastifyInstance, FastifyRequest } from 'fastify'
import type { ZodTypeProvider } from 'fastify-type-provider-zod'
import { invalidField } from '../errors.js'
import type { SyncEngine } from '../sync/index.js'
import { verifiedToken } from './auth.js'
import { forceQuery, pullRequest, reconcileRequest, syncResponses } from '../model/contract/sync.js'

export interface SyncRouteOptions {
  /** How long POST /api/sync/pull waits for its pull before answering 202 (a first backfill can take minutes). */
  pullWaitMs?: number
}

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
        body: pullRequest,
        response: syncResponses.pull,
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
      // completed: the pull is over; result.started says whether it ran or was skipped.
      return reply.status(200).send({ success: true, completed: true, result })
    },
  )

  app.get(
    '/api/sync/status',
    {
      config: { permission: 'exams.view' },
      schema: {
        tags: ['sync'],
        summary: 'Cursors, last pulls, lag, HubSpot budget, drift, reconcile progress, watchers',
        response: syncResponses.status,
      },
    },
    async () => ({
      success: true as const,
      status: await sync.status(),
    }),
  )

  app.post(
    '/api/sync/reconcile',
    {
      config: { permission: 'sync.run' },
      schema: {
        tags: ['sync'],
        summary: 'Compare HubSpot and the replica (ids and modification times); with fix, repair the drift',
        body: reconcileRequest,
        response: syncResponses.reconcile,
      },
    },
    async (request) => ({
      success: true as const,
      report: await sync.reconcile({ fix: request.body?.fix ?? false }),
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
        response: syncResponses.force,
      },
    },
    async (request) => {
      const { type, examId } = request.query
      if (type === 'bookings' && !examId) throw invalidField('examId', 'required when type=bookings')
      const { count } = await sync.forceSync(type, type === 'bookings' ? examId : undefined, callerOf(request))
      return { success: true as const, message: `Synced ${count} ${type}`, count }
    },
  )
}

/** Pulls are bounded per caller, like streams. */
function callerOf(request: FastifyRequest): string {
  return verifiedToken(request).caller
}

function delay(ms: number): Promise<null> {
  return new Promise((resolve) => setTimeout(() => resolve(null), ms).unref())
}

// The HTTP contract of /api/sync and /api/admin/sync: pull, status, force sync, reconcile, and their answers.
import { z } from 'zod'
import { errorResponses, hubspotId, success } from './common.js'

const syncType = z.enum(['exams', 'bookings'], { message: 'must be "exams" or "bookings"' })
const typeCounts = <T extends z.ZodType>(value: T) => z.object({ exams: value, bookings: value })

export const pullRequest = z
  .object({
    types: z.array(syncType).min(1).max(2).optional(),
    exam_ids: z.array(hubspotId).min(1).max(500).optional(),
  })
  .strict()
  // A bare POST (no body at all, which Fastify hands over as null) is a pull of everything.
  .nullish()

const typePullResult = z.object({
  fetched: z.number().int(),
  changed: z.number().int(),
  deleted: z.number().int(),
  cursor: z.string().nullable(),
  calls: z.number().int(),
})

export const pullResult = z
  .object({
    started: z.boolean().meta({ description: 'false: skipped (see skipped)' }),
    kind: z.enum(['incremental', 'targeted', 'backfill', 'skipped']),
    reason: z.enum(['demand', 'access', 'watch', 'cli', 'start']),
    objects: z.object({ exams: typePullResult.optional(), bookings: typePullResult.optional() }),
    ms: z.number(),
    calls: z.number().int(),
    skipped: z.enum(['busy', 'not-backfilled', 'stopped']).optional(),
  })
  .meta({ id: 'PullResult' })

/** 200: the pull finished (`result` says what it did); 202: it is still running (a first backfill). */
export const pullDone = success({ completed: z.literal(true), result: pullResult })
export const pullRunning = success({ completed: z.literal(false), message: z.string() })

const objectStatus = z.object({
  cursor: z.string().nullable(),
  last_pull_at: z.string().nullable(),
  last_pull_ms: z.number().nullable(),
  rows: z.number().int(),
})

export const driftSummary = z.object({
  checked_at: z.string(),
  missing_in_replica: z.number().int(),
  extra_in_replica: z.number().int(),
  stale_in_replica: z.number().int(),
  fixed: z.number().int(),
})

export const reconcileProgress = z
  .object({
    running: z.boolean(),
    fix: z.boolean(),
    started_at: z.string().nullable(),
    phase: z.string().nullable().meta({ description: 'e.g. "comparing bookings"' }),
    listed: z.number().int().meta({ description: 'HubSpot objects listed so far' }),
  })
  .meta({ id: 'ReconcileProgress' })

/**
 * A field the sync engine adds to its status (pool mode, doctor checks...) must be declared here
 * too: the serializer drops undeclared fields, and the dashboard's types come from this schema.
 */
export const syncStatus = z
  .object({
    objects: typeCounts(objectStatus),
    lag_ms: z.number().nullable().meta({ description: 'now minus the upper bound of the oldest last pull' }),
    pulling: z.boolean(),
    hubspot: z.object({
      base_url: z.string(),
      limit_10s: z.number(),
      used_10s: z.number(),
      daily_limit: z.number(),
      used_daily: z.number(),
      search_limit_s: z.number(),
      rate_limited_total: z.number(),
      calls_total: z.number(),
    }),
    drift: driftSummary.nullable(),
    reconcile: reconcileProgress.optional(),
    watchers: z.number().int(),
    database: z.object({
      kind: z.enum(['pg', 'pglite']),
      pool_mode: z.enum(['session', 'transaction']),
      pool_mode_detected_by: z.string(),
      wakeups: z.string(),
      locks: z.string(),
    }),
  })
  .meta({ id: 'SyncStatus' })

export const statusBody = success({ status: syncStatus })

export const forceQuery = z.object({ type: syncType, examId: hubspotId.optional() })
export const forceBody = success({ message: z.string(), count: z.number().int() })

export const reconcileRequest = z.object({ fix: z.boolean().optional() }).strict().nullish()

const typeDrift = z.object({
  missing_in_replica: z.number().int(),
  extra_in_replica: z.number().int(),
  stale_in_replica: z.number().int(),
  hubspot_rows: z.number().int(),
  replica_rows: z.number().int(),
  samples: z.object({ missing: z.array(z.string()), extra: z.array(z.string()), stale: z.array(z.string()) }),
})

export const driftReport = driftSummary
  .extend({ objects: typeCounts(typeDrift), calls: z.number().int(), ms: z.number() })
  .meta({ id: 'DriftReport' })

export const reconcileBody = success({ report: driftReport })

export const syncResponses = {
  pull: { 200: pullDone, 202: pullRunning, ...errorResponses },
  status: { 200: statusBody, ...errorResponses },
  force: { 200: forceBody, ...errorResponses },
  reconcile: { 200: reconcileBody, ...errorResponses },
} as const

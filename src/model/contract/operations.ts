// The HTTP contract of the operations routes: liveness and readiness.
import { z } from 'zod'
import { errorBody, errorResponses } from './common.js'

export const healthBody = z.object({ status: z.literal('ok') })

/** Loose: the replica adds its topology (pool mode, how wake-ups and locks work) beside these. */
export const readyBody = z.looseObject({ status: z.literal('ready'), database: z.string() })
export const notReadyBody = z.object({
  status: z.literal('not ready'),
  reason: z.string(),
  pending: z.array(z.string()).optional(),
})

export const healthResponses = { 200: healthBody, ...errorResponses } as const
export const readyResponses = { 200: readyBody, 503: z.union([notReadyBody, errorBody]), '4xx': errorBody } as const

// The HTTP contract's shared pieces: ids, dates, cursors, the success and error envelopes every route answers with.
import { z } from 'zod'

/** HubSpot object ids are numeric strings. */
export const hubspotId = z.string().regex(/^\d{1,20}$/, 'must be a HubSpot id (digits)')

export const isoDate = z
  .string()
  .regex(/^\d{4}-\d{2}-\d{2}$/, 'must be a date as YYYY-MM-DD')
  .refine(
    (value) => !Number.isNaN(Date.parse(value)) && new Date(value).toISOString().startsWith(value),
    'is not a real calendar date',
  )

export const idParams = z.object({ id: hubspotId })

/** Cursor positions in the change log. */
export const seqCursor = z.string().regex(/^\d{1,19}$/, 'must be a change-log seq (digits)')

/** The most rows one keyset page of a list returns. */
const MAX_PAGE = 1000

/**
 * Keyset paging of a list: `limit` rows a page, `cursor` from the previous page's `next_cursor`.
 * Without `limit` a list answers whole, as it always did (the dashboard and hubmirror/client read
 * an exam's whole list and keep it current from the change feed).
 */
export const pageQuery = {
  limit: z.coerce
    .number()
    .int('must be a whole number')
    .min(1, 'must be at least 1')
    .max(MAX_PAGE, `must be at most ${MAX_PAGE}`)
    .optional()
    .meta({ description: `rows per page (1–${MAX_PAGE}); with it the answer carries next_cursor` }),
  cursor: z
    .string()
    .min(1, 'must not be empty')
    .max(400, 'is not a cursor this list gave out')
    .optional()
    .meta({ description: "the previous page's next_cursor, as it is; needs limit" }),
}

/** Where the next page starts; null on the last page. Present only when the request set `limit`. */
export const nextCursor = z.string().nullable().optional()

/** "a,b,c" or repeated parameters. */
export const idList = z
  .union([z.string(), z.array(z.string())])
  .transform((value) => (Array.isArray(value) ? value : value.split(',')).map((id) => id.trim()).filter(Boolean))
  .pipe(z.array(hubspotId).max(500))

/** `{ success: false, error }`: what every 4xx and 5xx answers (src/errors.ts builds it). */
export const errorBody = z
  .object({
    success: z.literal(false),
    error: z.object({
      code: z.string().meta({ description: 'stable error code, e.g. E_EXAM_FULL' }),
      message: z.string(),
      field: z.string().optional().meta({ description: 'the request field the error is about' }),
      details: z.record(z.string(), z.unknown()).optional(),
    }),
  })
  .meta({ id: 'ErrorBody' })

/** Declared on every route, so that /docs shows the error envelope and Fastify serializes errors with it. */
export const errorResponses = { '4xx': errorBody, '5xx': errorBody } as const

/** A success body: the seed's `{ success: true, ...fields }`. */
export function success<T extends z.ZodRawShape>(shape: T) {
  return z.object({ success: z.literal(true), ...shape })
}

/** The fields a change altered, `{ field: [old, new] }`; null on events logged before migration 006. */
export const fieldChanges = z
  .record(z.string(), z.tuple([z.unknown(), z.unknown()]))
  .nullable()
  .meta({ id: 'FieldChanges', description: '{ field: [old, new] }; old is null for a record new to the replica' })

/** Who made a change: a hubmirror write (the token's sub) or HubSpot (as a pull found it). */
export const changeOrigin = z
  .discriminatedUnion('kind', [
    z.object({ kind: z.literal('hubmirror'), subject: z.string().nullable() }),
    z.object({
      kind: z.literal('hubspot'),
      source: z.string().optional().meta({ description: "HubSpot's sourceType, e.g. CRM_UI, INTEGRATION, API" }),
      source_id: z.string().optional().meta({ description: "HubSpot's sourceId" }),
      user_id: z.string().optional().meta({ description: "HubSpot's updatedByUserId" }),
    }),
  ])
  .nullable()
  .meta({ id: 'ChangeOrigin' })

/**
 * What a change event and a history entry both say of one change (the event adds the row): one
 * shape, so that the two can never describe a change differently.
 */
export const changeShape = {
  seq: z.string().meta({ description: "the change's position in the change log; a stream resumes after it" }),
  kind: z.enum(['exam', 'booking']),
  op: z.enum(['upsert', 'delete']),
  hubspot_id: z.string(),
  exam_id: z.string().nullable(),
  source: z.enum(['write', 'sync', 'manual']),
  at: z.string(),
  changes: fieldChanges,
  origin: changeOrigin,
}

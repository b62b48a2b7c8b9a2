// The HTTP contract of the realtime routes: SSE and long-poll queries, the change event, long-poll and GraphQL answers.
import { z } from 'zod'
import { bookingRecord } from './bookings.js'
import { changeShape, errorBody, errorResponses, idList, seqCursor, success } from './common.js'
import { examRecord } from './exams.js'

/** One row of the change log, as SSE `data:`, long-poll `events[]` and WebSocket messages carry it. */
export const changeEvent = z
  .object({ ...changeShape, row: z.union([examRecord, bookingRecord]).nullable() })
  .meta({ id: 'ChangeEvent' })

const filterQuery = {
  exam_ids: idList.optional(),
  /** The CONTRACT's name; repeated or comma-separated, merged with exam_ids. */
  exam_id: idList.optional(),
  access_token: z.string().optional(),
}
export const sseQuery = z.object({ ...filterQuery, after: seqCursor.optional() })
export const longPollQuery = z.object({
  ...filterQuery,
  after: seqCursor,
  timeout_ms: z.coerce.number().int().min(0).optional(),
})

export const longPollBody = success({ events: z.array(changeEvent), cursor: z.string() })

/** The route writes `event: change|ready|refetch` frames itself; this is what the docs show. */
const sseStream = z.string().meta({
  description:
    'text/event-stream: `event: change` frames (id: seq, data: ChangeEvent), `ready` {seq} once caught up, `refetch` {seq} when the cursor is past retention',
})

/** The query text limit, on POST and over graphql-ws alike. */
export const MAX_QUERY_CHARS = 20_000

export const graphqlRequest = z.object({
  query: z.string().min(1).max(MAX_QUERY_CHARS),
  variables: z.record(z.string(), z.unknown()).nullish(),
  operationName: z.string().nullish(),
})

const graphqlError = z.object({
  message: z.string(),
  locations: z
    .array(z.object({ line: z.number(), column: z.number() }))
    .readonly()
    .optional(),
  path: z
    .array(z.union([z.string(), z.number()]))
    .readonly()
    .optional(),
  extensions: z.record(z.string(), z.unknown()).optional(),
})
export const graphqlResult = z.object({
  errors: z.array(graphqlError).optional(),
  data: z.record(z.string(), z.unknown()).nullable(),
  extensions: z.object({ replicaSeq: z.string() }).optional(),
})
const graphqlRefused = z.union([z.object({ errors: z.array(graphqlError) }), errorBody])

export const realtimeResponses = {
  sse: { 200: sseStream, ...errorResponses },
  longPoll: { 200: longPollBody, ...errorResponses },
  ws: { 101: z.string().meta({ description: 'switching to the WebSocket protocol' }), ...errorResponses },
  graphql: { 200: graphqlResult, 400: graphqlRefused, ...errorResponses },
} as const

/** The public seats-left snapshot (and each `event: seats` frame's data): an exam's counts, nothing about who booked. */
export const seatsLeft = z
  .object({
    exam_id: z.string(),
    capacity: z.number().int(),
    booked: z.number().int().meta({ description: 'seat-holding bookings (confirmed, completed, no_show)' }),
    seats_left: z.number().int().meta({ description: 'max(capacity - booked, 0)' }),
    seq: z.string().meta({ description: 'change-log position the counts reflect; the SSE frame id' }),
  })
  .strict()
  .meta({ id: 'SeatsLeft' })

/** Public routes take no token; the stream's Last-Event-ID (a seq) is its resume cursor. */
export const publicSeatsQuery = z.object({ after: seqCursor.optional() })

export const publicSeatsResponses = {
  snapshot: {
    200: seatsLeft,
    304: z.null().meta({ description: 'If-None-Match matched the current ETag: nothing changed' }),
    ...errorResponses,
  },
  stream: {
    200: z.string().meta({
      description:
        'text/event-stream: `event: seats` frames (id: seq, data: SeatsLeft) now and on every change, `refetch` {seq} when Last-Event-ID is past retention or the head',
    }),
    ...errorResponses,
  },
} as const

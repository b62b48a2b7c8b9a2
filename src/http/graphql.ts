// GraphQL: queries answered through the read path, and `bookingUpdated` over graphql-ws from the change log.
import type {} from '@fastify/websocket'
import type { FastifyInstance } from 'fastify'
import type { ZodTypeProvider } from 'fastify-type-provider-zod'
import {
  buildSchema,
  execute,
  getOperationAST,
  GraphQLError,
  NoSchemaIntrospectionCustomRule,
  parse,
  specifiedRules,
  validate,
  type DocumentNode,
  type ExecutionArgs,
  type OperationDefinitionNode,
  type GraphQLFieldResolver,
  type GraphQLFormattedError,
  type GraphQLSchema,
} from 'graphql'
import type { Context as WsContext } from 'graphql-ws'
import { makeHandler, type Extra } from 'graphql-ws/use/@fastify/websocket'
import { z } from 'zod'
import type { ReadService } from '../bookings/read-service.js'
import type { CacheEntry } from '../cache/index.js'
import { AppError, cursorExpired, invalidField, isAppError } from '../errors.js'
import type { BookingRecord, ChangeEvent } from '../model/records.js'
import type { RealtimeHub } from '../realtime/index.js'
import { compareSeq } from '../model/seq.js'
import { bearerToken } from './auth.js'
import { AsyncQueue, QueueBudget } from './async-queue.js'
import { CLOSE_TOKEN_EXPIRED, expiringToken } from './token-deadline.js'
import { measureOperation, type OperationLimits, type RefusalReason } from './graphql-limits.js'
import { hubspotId, isoDate, seqCursor } from '../model/contract/common.js'
import { graphqlRequest, MAX_QUERY_CHARS, realtimeResponses } from '../model/contract/realtime.js'
import { WS_CLOSE_SLOW_CONSUMER, WS_CLOSE_TOO_MANY_STREAMS, type StreamLimits } from './stream-limits.js'
import { refusalReason, StreamSession } from './stream-session.js'
import { SDL } from './graphql-schema.js'

interface Context {
  reads: ReadService
  hub: RealtimeHub
  /** The oldest X-Replica-Seq among the reads of this request: a safe cursor to stream from. */
  seq: string | null
  /** Over graphql-ws: the connection's share of queued updates, and how to drop it when its reader lags. */
  connection?: Connection
}

/** One graphql-ws connection: its stream session, and the updates queued for it across its subscriptions. */
interface Connection {
  session: StreamSession
  backlog: QueueBudget
}

export interface GraphqlOptions {
  limits: OperationLimits & {
    /** Active subscriptions per graphql-ws connection. */
    maxSubscriptions: number
    introspection: boolean
  }
  streams: StreamLimits
  /** Operations refused before execution, by reason (exported on /metrics). */
  refused: Record<RefusalReason, number>
}

type Resolver = GraphQLFieldResolver<unknown, Context, Record<string, unknown>>

const MAX_CACHED_DOCUMENTS = 200
const MAX_CHANGES = 1_000
/** Updates queued for one graphql-ws connection (all its subscriptions) before its reader counts as too slow. */
const CONNECTION_BACKLOG = 10_000

export function registerGraphql(
  root: FastifyInstance,
  hub: RealtimeHub,
  reads: ReadService,
  options: GraphqlOptions,
): void {
  const app = root.withTypeProvider<ZodTypeProvider>()
  const schema = createSchema()
  const documents = new Map<string, DocumentNode | readonly GraphQLError[]>()
  /** Validation results of parsed documents that passed the limits (validation is the costly step). */
  const validated = new WeakMap<DocumentNode, readonly GraphQLError[]>()
  const rules = options.limits.introspection ? specifiedRules : [...specifiedRules, NoSchemaIntrospectionCustomRule]
  const connections = new WeakMap<object, Connection>()
  const refuse = (reason: RefusalReason, message: string, details: Record<string, unknown> = {}) => {
    options.refused[reason] += 1
    const code = reason === 'subscriptions' ? 'E_TOO_MANY_SUBSCRIPTIONS' : 'E_QUERY_TOO_COMPLEX'
    return new GraphQLError(message, { extensions: { code, reason, ...details } })
  }
  /** Parsed, validated and measured: the execution arguments, or why the operation is refused. */
  const admit = (
    query: unknown,
    variables: Record<string, unknown> | null | undefined,
    operationName: string | null | undefined,
  ): { document: DocumentNode; operation: OperationDefinitionNode } | { status: number; errors: GraphQLError[] } => {
    if (typeof query !== 'string' || query === '')
      return { status: 400, errors: [new GraphQLError('query: must be a non-empty string')] }
    if (query.length > MAX_QUERY_CHARS)
      return {
        status: 400,
        errors: [refuse('size', `query: at most ${MAX_QUERY_CHARS} characters`, { limit: MAX_QUERY_CHARS })],
      }
    const document = parsed(documents, query)
    if (!isDocument(document)) return { status: 400, errors: [...document] }
    const operation = getOperationAST(document, operationName ?? undefined)
    if (!operation)
      return { status: 400, errors: [new GraphQLError('no operation to run (name it with operationName)')] }
    // Measured before validation: validating n aliases of one field compares them pairwise (n²),
    // so 300 aliases cost a quarter of a second of the event loop before any limit could refuse them.
    const measured = measureOperation(document, operation, variables, options.limits)
    if (!measured.ok) return { status: 400, errors: [refuse(measured.reason, measured.message)] }
    let errors = validated.get(document)
    if (!errors) validated.set(document, (errors = validate(schema, document, rules)))
    if (errors.length > 0) return { status: 400, errors: [...errors] }
    return { document, operation }
  }

  app.post(
    '/graphql',
    {
      config: { permission: 'exams.view' },
      schema: {
        tags: ['graphql'],
        summary: 'GraphQL queries',
        body: graphqlRequest,
        response: realtimeResponses.graphql,
      },
    },
    async (request, reply) => {
      const admitted = admit(request.body.query, request.body.variables, request.body.operationName)
      if ('errors' in admitted)
        return reply.status(admitted.status).send({ errors: admitted.errors.map((error) => formatError(error)) })
      const { document, operation } = admitted
      if (operation.operation !== 'query')
        return reply.status(400).send({
          errors: [
            {
              message: `${operation.operation}s are not served over POST: subscribe over the /graphql WebSocket (graphql-transport-ws)`,
            },
          ],
        })
      const context: Context = { reads, hub, seq: null }
      const result = await execute({
        schema,
        document,
        variableValues: request.body.variables ?? undefined,
        operationName: request.body.operationName ?? undefined,
        contextValue: context,
      })
      if (context.seq !== null) reply.header('x-replica-seq', context.seq)
      return {
        ...(result.errors ? { errors: result.errors.map((error) => formatError(error, request.log)) } : {}),
        data: result.data ?? null,
        ...(context.seq !== null ? { extensions: { replicaSeq: context.seq } } : {}),
      }
    },
  )

  // The upgrade is let through without a token: graphql-ws clients send it in connectionParams,
  // and onConnect below refuses the connection without a valid one.
  app.route({
    method: 'GET',
    url: '/graphql',
    config: { permission: 'exams.view', deferAuth: true, queryToken: true },
    schema: { hide: true },
    handler: async (request) => {
      await root.checkToken(bearerToken(request), 'exams.view')
      throw new AppError(
        'E_VALIDATION',
        'send queries with POST /graphql, and subscriptions over a graphql-transport-ws WebSocket',
        { field: 'method' },
      )
    },
    wsHandler: makeHandler(
      {
        schema,
        onConnect: async (ctx) => {
          const params = ctx.connectionParams as { authorization?: unknown; access_token?: unknown } | undefined
          const { request, socket } = ctx.extra
          const token = tokenFromParams(params) ?? bearerToken(request)
          let verified
          try {
            verified = expiringToken(await root.checkToken(token, 'exams.view'))
            request.verifiedToken = verified
            request.permissions = verified.permissions
          } catch {
            return false
          }
          let session: StreamSession
          try {
            session = StreamSession.open(options.streams, verified, 'graphql-ws', {
              onExpire: () => socket.close(CLOSE_TOKEN_EXPIRED, 'token expired'),
              // The reader is this far behind: it reconnects, resubscribes with after and loses nothing.
              onDrop: () => socket.close(WS_CLOSE_SLOW_CONSUMER, 'slow consumer: reconnect and resubscribe with after'),
            })
          } catch (error) {
            // graphql-ws's own close (4403) after this one is ignored: the socket is already closing.
            socket.close(WS_CLOSE_TOO_MANY_STREAMS, refusalReason(error))
            return false
          }
          socket.once('close', () => session.close())
          connections.set(ctx, { session, backlog: new QueueBudget(CONNECTION_BACKLOG) })
          return true
        },
        // The refresh: a ping whose payload carries a fresh token, as connectionParams did. One that
        // is refused changes nothing; the connection still closes (4401) when the old token expires.
        onPing: async (ctx, payload) => {
          const token = tokenFromParams(payload)
          const session = connections.get(ctx)?.session
          if (!token || !session) return
          try {
            const verified = expiringToken(await root.checkToken(token, 'exams.view'))
            ctx.extra.request.permissions = verified.permissions
            session.refresh(verified)
          } catch (error) {
            ctx.extra.request.log.debug({ reason: (error as Error).message }, 'graphql-ws: token refresh refused')
          }
        },
        // Refused before anything runs: too long, unparseable, too costly, or one subscription too many.
        onSubscribe: (ctx, _id, payload): ExecutionArgs | readonly GraphQLError[] => {
          const admitted = admit(payload.query, payload.variables, payload.operationName)
          if ('errors' in admitted) return admitted.errors
          const active = Object.keys(ctx.subscriptions).length
          if (admitted.operation.operation === 'subscription' && active > options.limits.maxSubscriptions)
            return [
              refuse(
                'subscriptions',
                `this connection already has ${active - 1} active subscriptions (at most ${options.limits.maxSubscriptions}); complete one first`,
                { limit: options.limits.maxSubscriptions },
              ),
            ]
          return {
            schema,
            document: admitted.document,
            operationName: payload.operationName ?? undefined,
            variableValues: payload.variables ?? undefined,
          }
        },
        context: (ctx: WsContext<Record<string, unknown> | undefined, Extra>): Context => ({
          reads,
          hub,
          seq: null,
          connection: connections.get(ctx),
        }),
        // Results (and a refused subscription) go out as `next`: mask internals, keep our codes.
        onNext: (_ctx, _id, _payload, _args, result) =>
          result.errors ? { ...result, errors: result.errors.map((error) => formatError(error, root.log)) } : undefined,
      },
      hub.heartbeatMs,
    ),
  })
}

function isDocument(prepared: DocumentNode | readonly GraphQLError[]): prepared is DocumentNode {
  return !Array.isArray(prepared)
}

function tokenFromParams(params: { authorization?: unknown; access_token?: unknown } | undefined): string | null {
  const raw = params?.authorization ?? params?.access_token
  if (typeof raw !== 'string' || raw === '') return null
  return raw.replace(/^Bearer\s+/i, '')
}

/** Parsed once per distinct query text: dashboards send the same few queries. */
function parsed(
  cache: Map<string, DocumentNode | readonly GraphQLError[]>,
  query: string,
): DocumentNode | readonly GraphQLError[] {
  const cached = cache.get(query)
  if (cached) return cached
  let document: DocumentNode | readonly GraphQLError[]
  try {
    document = parse(query)
  } catch (error) {
    document = [error as GraphQLError]
  }
  if (cache.size >= MAX_CACHED_DOCUMENTS) cache.delete(cache.keys().next().value as string)
  cache.set(query, document)
  return document
}

/** AppErrors keep their code (and details, e.g. the head seq of a refetch); anything else is internal. */
function formatError(error: GraphQLError, log?: { error(obj: object, msg: string): void }): GraphQLFormattedError {
  const original = error.originalError
  if (!original || original instanceof GraphQLError) return error.toJSON()
  if (isAppError(original)) {
    return {
      message: original.message,
      path: error.path,
      extensions: {
        code: original.code,
        ...(original.field ? { field: original.field } : {}),
        ...(original.details ?? {}),
      },
    }
  }
  log?.error({ err: original }, 'graphql resolver failed')
  return { message: 'internal error', path: error.path, extensions: { code: 'E_INTERNAL' } }
}

function createSchema(): GraphQLSchema {
  const schema = buildSchema(SDL)
  const query = schema.getQueryType()!.getFields()
  query.exams.resolve = resolveExams
  query.exam.resolve = resolveExam
  query.bookings.resolve = resolveBookings
  query.changes.resolve = resolveChanges
  const subscription = schema.getSubscriptionType()!.getFields()
  subscription.bookingUpdated.subscribe = subscribeBookingUpdated
  subscription.bookingUpdated.resolve = (payload) => payload
  return schema
}

function arg<T>(parser: z.ZodType<T>, value: unknown, field: string): T {
  const result = parser.safeParse(value)
  if (result.success) return result.data
  throw invalidField(field, result.error.issues[0].message)
}

/** Reads go through the cache, which holds envelope bytes: take the field out of them. */
function fromEntry<T>(context: Context, entry: CacheEntry, field: string): T {
  if (context.seq === null || compareSeq(entry.seq, context.seq) < 0) context.seq = entry.seq
  return (JSON.parse(entry.body.toString('utf8')) as Record<string, T>)[field]
}

const resolveExams: Resolver = async (_root, args, context) => {
  const startDate = arg(isoDate.nullish(), args.startDate, 'startDate') ?? undefined
  const endDate = arg(isoDate.nullish(), args.endDate, 'endDate') ?? undefined
  if (startDate && endDate && startDate > endDate) throw invalidField('endDate', 'must not be before startDate')
  const isActive = typeof args.isActive === 'boolean' ? (String(args.isActive) as 'true' | 'false') : undefined
  return fromEntry(context, await context.reads.listExams({ isActive, startDate, endDate }), 'exams')
}

const resolveExam: Resolver = async (_root, args, context) => {
  const id = arg(hubspotId, args.id, 'id')
  try {
    return fromEntry(context, await context.reads.getExam(id), 'exam')
  } catch (error) {
    if (isAppError(error) && error.code === 'E_EXAM_NOT_FOUND') return null
    throw error
  }
}

const resolveBookings: Resolver = async (_root, args, context) =>
  fromEntry(context, await context.reads.examBookings(arg(hubspotId, args.examId, 'examId')), 'bookings')

const resolveChanges: Resolver = async (_root, args, context) => {
  const after = arg(seqCursor, args.after, 'after')
  const examIds = arg(z.array(hubspotId).max(500).nullish(), args.examIds, 'examIds')
  const limit = arg(z.number().int().min(1).max(MAX_CHANGES), args.limit, 'limit')
  const page = await context.hub.readChanges({ after, examIds, limit })
  if (page.kind === 'refetch') throw cursorExpired(page.head)
  // GraphQL resolves fields of objects: each row's stored text is parsed here.
  return { events: page.entries.map((entry) => entry.event), cursor: page.cursor }
}

interface BookingUpdate {
  seq: string
  op: string
  at: string
  id: string
  bookingId: string | null
  status: string | null
  examId: string | null
  updatedAt: string | null
  changes: ChangeEvent['changes']
  origin: ChangeEvent['origin']
  booking: BookingRecord
}

/** Resolves once the backlog is queued (so a too-old cursor is a clean GraphQL error), then streams. */
const subscribeBookingUpdated: Resolver = async (_root, args, context) => {
  const examId = arg(hubspotId, args.examId, 'examId')
  const after = arg(seqCursor.nullish(), args.after, 'after') ?? null
  const connection = context.connection
  const queue = new AsyncQueue<BookingUpdate>(connection?.backlog ?? new QueueBudget(CONNECTION_BACKLOG), () =>
    connection?.session.drop(),
  )
  let started!: () => void
  let refused!: (error: AppError) => void
  const ready = new Promise<void>((resolve, reject) => ((started = resolve), (refused = reject)))
  const subscription = context.hub.subscribe({
    examIds: [examId],
    after,
    onEvents: (slice) => {
      for (const entry of slice.entries) {
        // Checked before `event`, which parses a logged row: exams' rows are never parsed here.
        if (entry.kind !== 'booking') continue
        const { event } = entry
        if (event.row) queue.push(bookingUpdate(event))
      }
    },
    onReady: () => started(),
    onRefetch: (head) => refused(cursorExpired(head, 'subscribe')),
    onEnd: () => {
      started()
      queue.end()
    },
  })
  queue.onClose(() => subscription.close())
  try {
    await ready
  } catch (error) {
    queue.end()
    throw error
  }
  return queue
}

function bookingUpdate({ seq, op, at, changes, origin, row }: ChangeEvent): BookingUpdate {
  const booking = row as BookingRecord
  return {
    seq,
    op,
    at,
    id: booking.hubspot_id,
    bookingId: booking.booking_id,
    status: booking.booking_status,
    examId: booking.mock_exam_id,
    updatedAt: booking.updated_at ?? booking.hs_lastmodifieddate,
    changes,
    origin,
    booking,
  }
}

// The realtime transports over the hub's one change log: SSE, long-poll, WebSocket and GraphQL.
import websocket from '@fastify/websocket'
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import type { ZodTypeProvider } from 'fastify-type-provider-zod'
import { handleProtocols } from 'graphql-ws'
import type { ReadService } from '../bookings/read-service.js'
import { cursorExpired, invalidField } from '../errors.js'
import type { EventSlice, LogEntry, RealtimeHub, SubscribeOptions, Subscription } from '../realtime/index.js'
import { verifiedToken } from './auth.js'
import type { RealtimeLimits } from './client-limits.js'
import { registerGraphql } from './graphql.js'
import { registerPublicRoutes } from './routes-public.js'
import { registerWsRoute, type SyncRequestHandler } from './realtime-ws.js'
import { seqCursor } from '../model/contract/common.js'
import { longPollQuery, realtimeResponses, sseQuery } from '../model/contract/realtime.js'
import { SseStream } from './sse-stream.js'
import type { StreamLimits } from './stream-limits.js'
import { StreamSession, type StreamEnds } from './stream-session.js'
import { expiringToken } from './token-deadline.js'

interface RealtimeRoutes {
  reads: ReadService
  /** The sync engine's on-demand pull, for the WebSocket `sync_request` message; may be absent. */
  onSyncRequest?: SyncRequestHandler
}

export type RealtimeRouteOptions = RealtimeRoutes & RealtimeLimits

const LONG_POLL_MAX_MS = 25_000
/** A long-polling client counts as watching for this long after each answer, so the count does not flap. */
const LONG_POLL_LINGER_MS = 10_000
const LONG_POLL_LIMIT = 1_000

export async function registerRealtimeRoutes(
  app: FastifyInstance,
  hub: RealtimeHub,
  options: RealtimeRouteOptions,
): Promise<void> {
  const answering = new Set<Promise<void>>()
  // @fastify/websocket only cleans up the upgrades that reached its own onRequest hook. One refused
  // before it (401/403 from auth) would keep its socket half-open and hold server.close() for ever.
  app.addHook('onResponse', async (request) => {
    if (request.headers.upgrade?.toLowerCase() === 'websocket') request.raw.socket.destroy()
  })
  // graphql-ws needs its subprotocol chosen at the handshake; plain /api/ws clients ask for none.
  await app.register(websocket, {
    options: { maxPayload: 64 * 1024, handleProtocols },
    preClose: endStreams(hub, answering),
  })
  registerSse(app, hub, options.streams)
  registerLongPoll(app, hub, answering, options.streams)
  registerWsRoute(app, hub, options.onSyncRequest, options.streams)
  registerGraphql(app, hub, options.reads, { ...options.graphql, streams: options.streams })
  registerPublicRoutes(app, hub, options.reads, options.publicStreams)
}

/** A long-poll's stream slot (it outlives no token by itself), released when its response closes; throws 429. */
function leaseFor(streams: StreamLimits, request: FastifyRequest, reply: FastifyReply): void {
  const lease = streams.open(verifiedToken(request).caller, 'long-poll')
  reply.raw.once('close', () => lease.release())
}

/**
 * Ends every stream before the server waits for its connections, so that close() is prompt: SSE
 * responses end, long-polls answer, WebSockets close with 1001 (going away) so clients reconnect.
 */
function endStreams(hub: RealtimeHub, answering: Set<Promise<void>>) {
  return async function (this: FastifyInstance): Promise<void> {
    hub.disconnectAll()
    for (const client of this.websocketServer.clients) client.close(1001, 'server shutting down')
    this.websocketServer.close()
    // Long-polls just answered are still being written; closing now would cut them off.
    await Promise.race([Promise.all(answering), new Promise((resolve) => setTimeout(resolve, 1_000).unref())])
  }
}

function examFilter(query: { exam_ids?: string[]; exam_id?: string[] }): string[] | null {
  const ids = [...new Set([...(query.exam_ids ?? []), ...(query.exam_id ?? [])])]
  return ids.length > 0 ? ids : null
}

/** EventSource resends the last `id:` it saw as Last-Event-ID; it wins over ?after=. */
export function lastEventId(request: FastifyRequest): string | undefined {
  const header = request.headers['last-event-id']
  if (typeof header !== 'string' || header === '') return undefined
  if (!seqCursor.safeParse(header).success) throw invalidField('Last-Event-ID', 'must be a change-log seq (digits)')
  return header
}

function registerSse(root: FastifyInstance, hub: RealtimeHub, streams: StreamLimits): void {
  const app = root.withTypeProvider<ZodTypeProvider>()
  const open = new Set<SseStream>()
  // One timer and one shared buffer for every stream's heartbeat.
  const heartbeat = setInterval(() => open.forEach((stream) => stream.heartbeat()), hub.heartbeatMs)
  heartbeat.unref()
  app.addHook('onClose', async () => clearInterval(heartbeat))

  app.get(
    '/api/events',
    // No HEAD twin: a HEAD must not start a stream whose frames are written past ServerResponse.
    {
      config: { permission: 'exams.view', queryToken: true },
      exposeHeadRoute: false,
      schema: {
        tags: ['realtime'],
        summary: 'Server-Sent Events: every change after a cursor, then live',
        querystring: sseQuery,
        response: realtimeResponses.sse,
      },
    },
    (request, reply) => {
      const after = lastEventId(request) ?? request.query.after ?? null
      const connection = new SseConnection(examFilter(request.query), after, open)
      // An expired token or no free slot opens no stream: 401 or 429 before anything starts.
      connection.session = StreamSession.open(streams, verifiedToken(request), 'sse', connection)
      // A reader this far behind is told so and cut off; it reconnects with Last-Event-ID.
      connection.stream = openSse(reply, connection.session.backlogBytes, () => connection.session.drop())
      open.add(connection.stream)
      connection.subscription = hub.subscribe(connection)
      reply.raw.on('close', () => connection.closed())
    },
  )
}

/**
 * One SSE connection: its subscription's and its session's callbacks as methods of one object, so
 * that an idle stream holds no closure per callback (10,000 dashboards hold 10,000 of these).
 */
class SseConnection implements SubscribeOptions, StreamEnds {
  stream!: SseStream
  session!: StreamSession
  subscription!: Subscription

  constructor(
    readonly examIds: string[] | null,
    readonly after: string | null,
    readonly open: Set<SseStream>,
  ) {}

  /** The last frame of a stream whose token expired: reconnect with a fresh one and Last-Event-ID. */
  onExpire(): void {
    this.stream.event('reauth', { reason: 'token expired', seq: this.subscription.cursor() })
    this.stream.end()
  }

  onDrop(): void {
    this.subscription.close()
  }

  onEvents(slice: EventSlice): void {
    this.stream.write(slice.sse())
  }

  onReady(seq: string): void {
    this.stream.event('ready', { seq })
  }

  onRefetch(head: string): void {
    this.stream.event('refetch', { seq: head })
    this.stream.end()
  }

  onEnd(): void {
    this.stream.end()
  }

  closed(): void {
    this.session.close()
    this.subscription.close()
    this.open.delete(this.stream)
  }
}

function openSse(reply: FastifyReply, backlogBytes: number, onDrop: () => void): SseStream {
  reply.hijack()
  const stream = new SseStream(reply.raw, backlogBytes, onDrop)
  stream.open()
  return stream
}

/** `answering` holds, for each waiting long-poll, a promise that settles once its response is written. */
function registerLongPoll(
  root: FastifyInstance,
  hub: RealtimeHub,
  answering: Set<Promise<void>>,
  streams: StreamLimits,
): void {
  const app = root.withTypeProvider<ZodTypeProvider>()
  app.get(
    '/api/long-poll',
    {
      config: { permission: 'exams.view', queryToken: true },
      exposeHeadRoute: false,
      schema: {
        tags: ['realtime'],
        summary: 'Changes after a cursor; waits up to 25 s for the next one',
        querystring: longPollQuery,
        response: realtimeResponses.longPoll,
      },
    },
    async (request, reply) => {
      const examIds = examFilter(request.query)
      leaseFor(streams, request, reply)
      const page = await hub.readChanges({ after: request.query.after, examIds, limit: LONG_POLL_LIMIT })
      if (page.kind === 'refetch') throw cursorExpired(page.head)
      // Prebuilt JSON text, like the answer after a wait: the rows as the log stores them, neither
      // parsed nor checked against the response schema, so one old-shaped row cannot fail the answer.
      if (page.entries.length > 0) return sendJson(reply, longPollBody(page.entries, page.cursor))
      // A wait never outlasts the token: the next poll must bring a fresh one.
      const tokenLeftMs = expiringToken(request.verifiedToken!).expiresAtMs - Date.now()
      const timeoutMs = Math.min(request.query.timeout_ms ?? LONG_POLL_MAX_MS, LONG_POLL_MAX_MS, tokenLeftMs)
      const written = new Promise<void>((resolve) => reply.raw.once('close', resolve))
      answering.add(written)
      void written.then(() => answering.delete(written))
      return sendJson(reply, await waitForChanges(hub, reply, { after: page.cursor, examIds, timeoutMs }))
    },
  )
}

/** Fastify sends a string as it is, without the serializer (and its schema check). */
function sendJson(reply: FastifyReply, body: string): FastifyReply {
  return reply.type('application/json; charset=utf-8').send(body)
}

/** Resolves to the response body: the first live events after `after`, or none when the wait ends. */
function waitForChanges(
  hub: RealtimeHub,
  reply: FastifyReply,
  options: { after: string; examIds: string[] | null; timeoutMs: number },
): Promise<string> {
  return new Promise((resolve, reject) => {
    const entries: LogEntry[] = []
    let flush: NodeJS.Immediate | null = null
    let subscription: Subscription | null = null
    const finish = () => {
      clearTimeout(timer)
      if (flush) clearImmediate(flush)
      const sent = entries.slice(0, LONG_POLL_LIMIT)
      const cursor = sent.length > 0 ? sent[sent.length - 1].seq : (subscription?.cursor() ?? options.after)
      subscription?.close()
      resolve(longPollBody(sent, cursor))
    }
    const timer = setTimeout(finish, options.timeoutMs)
    subscription = hub.subscribe({
      examIds: options.examIds,
      after: options.after,
      lingerMs: LONG_POLL_LINGER_MS,
      onEvents: (slice: EventSlice) => {
        entries.push(...slice.entries)
        // Answer on the next turn, so that events committed together leave together.
        flush ??= setImmediate(finish)
      },
      onRefetch: (head) => {
        clearTimeout(timer)
        reject(cursorExpired(head))
      },
      onEnd: finish,
    })
    reply.raw.on('close', () => {
      clearTimeout(timer)
      subscription?.close()
    })
  })
}

/** Built from each event's cached JSON: a thousand waiting clients do not re-serialise the same event. */
function longPollBody(entries: readonly LogEntry[], cursor: string): string {
  return `{"success":true,"events":[${entries.map((entry) => entry.json()).join(',')}],"cursor":"${cursor}"}`
}

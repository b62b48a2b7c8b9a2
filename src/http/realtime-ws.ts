// The /api/ws WebSocket: the seed's `subscribe` and `sync_request` messages, replayed from a cursor.
import type {} from '@fastify/websocket'
import type { FastifyInstance, FastifyRequest } from 'fastify'
import type { RawData, WebSocket } from 'ws'
import { z } from 'zod'
import { AppError, isAppError, type ErrorCode } from '../errors.js'
import type { RealtimeHub, Subscription } from '../realtime/index.js'
import { bearerToken } from './auth.js'
import { hubspotId, seqCursor } from './contract/common.js'
import { realtimeResponses } from './contract/realtime.js'
import {
  tokenSubject,
  WS_CLOSE_SLOW_CONSUMER,
  WS_CLOSE_TOO_MANY_STREAMS,
  type StreamLease,
  type StreamLimits,
} from './stream-limits.js'

export type SyncRequestHandler = (examIds: string[]) => Promise<unknown>

/** A reader this far behind is cut off; it reconnects and subscribes with `after`, losing nothing. */
const MAX_BUFFERED_BYTES = 4 * 1024 * 1024

const cursor = z.union([seqCursor, z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER).transform(String)])
const examIds = z.array(hubspotId).max(500)
const clientMessage = z.discriminatedUnion('type', [
  z.object({ type: z.literal('subscribe'), exam_ids: examIds.nullish(), after: cursor.nullish() }),
  z.object({ type: z.literal('unsubscribe') }),
  z.object({ type: z.literal('sync_request'), exam_ids: examIds.nullish() }),
  z.object({ type: z.literal('ping') }),
])
type ClientMessage = z.infer<typeof clientMessage>

export function registerWsRoute(
  app: FastifyInstance,
  hub: RealtimeHub,
  onSyncRequest: SyncRequestHandler | undefined,
  streams: StreamLimits,
): void {
  app.get(
    '/api/ws',
    {
      websocket: true,
      config: { permission: 'exams.view', queryToken: true },
      schema: {
        tags: ['realtime'],
        summary: 'WebSocket: subscribe {exam_ids, after?}, sync_request',
        response: realtimeResponses.ws,
      },
    },
    (socket, request) => {
      let lease: StreamLease
      try {
        lease = streams.open(tokenSubject(bearerToken(request)), 'ws')
      } catch (error) {
        const reason = isAppError(error) ? `${error.code}: ${error.message}` : 'E_TOO_MANY_STREAMS'
        return socket.close(WS_CLOSE_TOO_MANY_STREAMS, reason.slice(0, 120))
      }
      socket.once('close', () => lease.release())
      new WsSession(socket, request, hub, onSyncRequest, lease).start()
    },
  )
}

class WsSession {
  readonly #socket: WebSocket
  readonly #request: FastifyRequest
  readonly #hub: RealtimeHub
  readonly #onSyncRequest: SyncRequestHandler | undefined
  #subscription: Subscription | null = null
  readonly #lease: StreamLease
  #alive = true
  #pinger: NodeJS.Timeout | null = null

  constructor(
    socket: WebSocket,
    request: FastifyRequest,
    hub: RealtimeHub,
    onSyncRequest: SyncRequestHandler | undefined,
    lease: StreamLease,
  ) {
    this.#socket = socket
    this.#request = request
    this.#hub = hub
    this.#onSyncRequest = onSyncRequest
    this.#lease = lease
  }

  start(): void {
    this.#send({ type: 'connected', seq: this.#hub.position(), timestamp: Date.now() })
    this.#socket.on('message', (data, isBinary) => this.#onMessage(data, isBinary))
    this.#socket.on('pong', () => (this.#alive = true))
    this.#socket.on('close', () => this.#closed())
    // A peer that vanished without a FIN would otherwise hold its subscription for ever.
    this.#pinger = setInterval(() => this.#ping(), this.#hub.heartbeatMs)
    this.#pinger.unref()
  }

  #ping(): void {
    if (!this.#alive) return this.#socket.terminate()
    this.#alive = false
    this.#socket.ping()
  }

  #closed(): void {
    if (this.#pinger) clearInterval(this.#pinger)
    this.#subscription?.close()
    this.#subscription = null
  }

  #onMessage(data: RawData, isBinary: boolean): void {
    const parsed = parseMessage(data, isBinary)
    if (typeof parsed === 'string') return this.#sendError('E_VALIDATION', parsed)
    switch (parsed.type) {
      case 'subscribe':
        return this.#subscribe(parsed.exam_ids ?? null, parsed.after ?? null)
      case 'unsubscribe':
        this.#subscription?.close()
        this.#subscription = null
        return
      case 'sync_request':
        return void this.#sync(parsed.exam_ids ?? null)
      case 'ping':
        return this.#send({ type: 'pong', timestamp: Date.now() })
    }
  }

  /** A new subscribe replaces the previous one (e.g. the dashboard changed its exam filter). */
  #subscribe(examIds: string[] | null, after: string | null): void {
    this.#subscription?.close()
    this.#subscription = this.#hub.subscribe({
      examIds,
      after,
      onEvents: (slice) => {
        for (const entry of slice.entries) this.#sendRaw(entry.wsMessage())
      },
      onReady: (seq) => this.#send({ type: 'ready', seq }),
      onRefetch: (head) => this.#send({ type: 'refetch', seq: head }),
      onEnd: (reason) => {
        if (reason === 'shutdown') return this.#socket.close(1001, 'server shutting down')
        this.#sendError(
          'E_DATABASE_UNAVAILABLE',
          'the change log could not be read; reconnect and subscribe with after',
        )
        this.#socket.close(1011, 'change log unavailable')
      },
    })
  }

  async #sync(examIds: string[] | null): Promise<void> {
    if (!this.#onSyncRequest) return this.#sendError('E_NOT_READY', 'sync is not available on this server')
    // The same grant as POST /api/sync/pull: a viewer may not spend the HubSpot budget.
    if (!this.#request.permissions?.has('sync.run'))
      return this.#sendError('E_FORBIDDEN', 'sync_request needs the "sync.run" permission')
    const ids = examIds ?? [...(this.#subscription?.examIds ?? [])]
    try {
      const result = await this.#onSyncRequest(ids)
      this.#send({ type: 'sync_result', exam_ids: ids, result: result ?? null })
    } catch (error) {
      const appError = isAppError(error) ? error : new AppError('E_INTERNAL', 'sync failed')
      if (!isAppError(error)) this.#request.log.error({ err: error }, 'realtime: sync_request failed')
      this.#sendError(appError.code, appError.message)
    }
  }

  #send(message: Record<string, unknown>): void {
    this.#sendRaw(Buffer.from(JSON.stringify(message)))
  }

  #sendError(code: ErrorCode, message: string): void {
    this.#send({ type: 'error', code, message })
  }

  /** JSON bytes, sent as a text frame; change events' bytes are shared by every socket. */
  #sendRaw(json: Buffer): void {
    if (this.#socket.readyState !== this.#socket.OPEN) return
    if (this.#socket.bufferedAmount > MAX_BUFFERED_BYTES) return this.#dropSlow()
    this.#socket.send(json, { binary: false })
  }

  /**
   * The close frame queues behind the backlog, so a reader that catches up learns why (4408) and
   * resubscribes with `after`; ws destroys the socket if the closing handshake never completes.
   */
  #dropSlow(): void {
    this.#subscription?.close()
    this.#subscription = null
    this.#lease.dropped()
    this.#socket.close(WS_CLOSE_SLOW_CONSUMER, 'slow consumer: reconnect and subscribe with after')
  }
}

/** The message, or what is wrong with it. */
function parseMessage(data: RawData, isBinary: boolean): ClientMessage | string {
  if (isBinary) return 'messages must be JSON text frames'
  let json: unknown
  try {
    json = JSON.parse(String(data))
  } catch {
    return 'message is not valid JSON'
  }
  const result = clientMessage.safeParse(json)
  if (result.success) return result.data
  const issue = result.error.issues[0]
  return `${issue.path.join('.') || 'message'}: ${issue.message}`
}

// The /api/ws WebSocket: the seed's `subscribe` and `sync_request` messages, replayed from a cursor.
import type {} from '@fastify/websocket'
import type { FastifyInstance, FastifyRequest } from 'fastify'
import type { RawData, WebSocket } from 'ws'
import { z } from 'zod'
import { AppError, isAppError, type ErrorCode } from '../errors.js'
import type { EventSlice, RealtimeHub, Subscription } from '../realtime/index.js'
import { verifiedToken } from './auth.js'
import { hubspotId, seqCursor } from '../model/contract/common.js'
import { realtimeResponses } from '../model/contract/realtime.js'
import { WS_CLOSE_SLOW_CONSUMER, WS_CLOSE_TOO_MANY_STREAMS, type StreamLimits } from './stream-limits.js'
import { refusalReason, StreamSession } from './stream-session.js'
import { CLOSE_TOKEN_EXPIRED, expiringToken } from './token-deadline.js'
import { sliceFrames, writeFrames } from './ws-frames.js'

/** `caller` is the token subject: each may have started only a few pulls that have not finished. */
export type SyncRequestHandler = (examIds: string[], caller: string) => Promise<unknown>

const cursor = z.union([seqCursor, z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER).transform(String)])
const examIds = z.array(hubspotId).max(500)
const clientMessage = z.discriminatedUnion('type', [
  z.object({ type: z.literal('subscribe'), exam_ids: examIds.nullish(), after: cursor.nullish() }),
  z.object({ type: z.literal('unsubscribe') }),
  z.object({ type: z.literal('sync_request'), exam_ids: examIds.nullish() }),
  z.object({ type: z.literal('ping') }),
  /** A fresh token for this socket, before the current one expires. */
  z.object({
    type: z.literal('auth'),
    token: z
      .string()
      .min(1)
      .max(16 * 1024),
  }),
])
type ClientMessage = z.infer<typeof clientMessage>

export function registerWsRoute(
  app: FastifyInstance,
  hub: RealtimeHub,
  onSyncRequest: SyncRequestHandler | undefined,
  streams: StreamLimits,
): void {
  // One timer pings every open socket, instead of one interval per socket.
  const live = new Set<WsSession>()
  const pinger = setInterval(() => live.forEach((ws) => ws.ping()), hub.heartbeatMs)
  pinger.unref()
  app.addHook('onClose', async () => clearInterval(pinger))
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
      const ws = new WsSession(socket, request, hub, onSyncRequest, live)
      let session: StreamSession
      try {
        session = StreamSession.open(streams, verifiedToken(request), 'ws', ws)
      } catch (error) {
        if (isAppError(error) && error.code === 'E_UNAUTHORIZED') return ws.onExpire()
        return socket.close(WS_CLOSE_TOO_MANY_STREAMS, refusalReason(error))
      }
      ws.start(session)
    },
  )
}

class WsSession {
  readonly #socket: WebSocket
  readonly #request: FastifyRequest
  readonly #hub: RealtimeHub
  readonly #onSyncRequest: SyncRequestHandler | undefined
  #subscription: Subscription | null = null
  #session: StreamSession | null = null
  #alive = true
  readonly #live: Set<WsSession>
  /** The grants of the latest token this socket presented (the upgrade's, then each `auth`'s). */
  #permissions: ReadonlySet<string>

  constructor(
    socket: WebSocket,
    request: FastifyRequest,
    hub: RealtimeHub,
    onSyncRequest: SyncRequestHandler | undefined,
    live: Set<WsSession>,
  ) {
    this.#live = live
    this.#socket = socket
    this.#request = request
    this.#hub = hub
    this.#onSyncRequest = onSyncRequest
    this.#permissions = request.permissions ?? new Set()
  }

  start(session: StreamSession): void {
    this.#session = session
    this.#send({ type: 'connected', seq: this.#hub.position(), timestamp: Date.now(), expires_at: session.expiresAtMs })
    this.#socket.on('message', (data, isBinary) => this.#onMessage(data, isBinary))
    this.#socket.on('pong', () => (this.#alive = true))
    this.#socket.on('close', () => this.#closed())
    // A peer that vanished without a FIN would otherwise hold its subscription for ever.
    this.#live.add(this)
  }

  /** Each heartbeat: a peer that did not answer the last ping is gone. */
  ping(): void {
    if (!this.#alive) return this.#socket.terminate()
    this.#alive = false
    this.#socket.ping()
  }

  /** The token expired (or was expired at the upgrade): close 4401, after saying so. */
  onExpire(): void {
    this.#sendError('E_UNAUTHORIZED', 'token expired: reconnect with a fresh token and subscribe with after')
    this.#socket.close(CLOSE_TOKEN_EXPIRED, 'token expired')
  }

  /** A refused token changes nothing: the socket still ends when its current token expires. */
  async #auth(raw: string): Promise<void> {
    try {
      const token = expiringToken(await this.#request.server.checkToken(raw, 'exams.view'))
      this.#permissions = token.permissions
      this.#session?.refresh(token)
      this.#send({ type: 'auth_ok', expires_at: token.expiresAtMs })
    } catch (error) {
      const appError = isAppError(error) ? error : new AppError('E_UNAUTHORIZED', 'invalid token')
      this.#sendError(appError.code, appError.message)
    }
  }

  #closed(): void {
    this.#session?.close()
    this.#live.delete(this)
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
      case 'auth':
        return void this.#auth(parsed.token)
    }
  }

  /** A new subscribe replaces the previous one (e.g. the dashboard changed its exam filter). */
  #subscribe(examIds: string[] | null, after: string | null): void {
    this.#subscription?.close()
    this.#subscription = this.#hub.subscribe({
      examIds,
      after,
      onEvents: (slice) => this.#sendSlice(slice),
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
    // The same grant as POST /api/sync/pull: a viewer may not spend the HubSpot budget.
    if (!this.#permissions.has('sync.run'))
      return this.#sendError('E_FORBIDDEN', 'sync_request needs the "sync.run" permission')
    if (!this.#onSyncRequest) return this.#sendError('E_NOT_READY', 'sync is not available on this server')
    const ids = examIds ?? [...(this.#subscription?.examIds ?? [])]
    try {
      const result = await this.#onSyncRequest(ids, verifiedToken(this.#request).caller)
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

  /** Change events: the slice's frames, shared by every socket, in one write. */
  #sendSlice(slice: EventSlice): void {
    if (this.#socket.readyState !== this.#socket.OPEN) return
    if (this.#socket.bufferedAmount > this.#backlogBytes()) return this.#session?.drop()
    if (writeFrames(this.#socket, sliceFrames(slice))) return
    for (const entry of slice.entries) this.#sendRaw(entry.wsMessage())
  }

  #backlogBytes(): number {
    return this.#session?.backlogBytes ?? Infinity
  }

  /** JSON bytes, sent as a text frame. */
  #sendRaw(json: Buffer): void {
    if (this.#socket.readyState !== this.#socket.OPEN) return
    // A reader this far behind is cut off; it reconnects and subscribes with `after`, losing nothing.
    if (this.#socket.bufferedAmount > this.#backlogBytes()) return this.#session?.drop()
    this.#socket.send(json, { binary: false })
  }

  /**
   * The close frame queues behind the backlog, so a reader that catches up learns why (4408) and
   * resubscribes with `after`; ws destroys the socket if the closing handshake never completes.
   */
  onDrop(): void {
    this.#subscription?.close()
    this.#subscription = null
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

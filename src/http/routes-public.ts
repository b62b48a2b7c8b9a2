// The public, read-only seats-left routes for one exam: a cacheable snapshot and an SSE stream, no token, counts only.
import type { FastifyBaseLogger, FastifyInstance, FastifyReply } from 'fastify'
import type { ZodTypeProvider } from 'fastify-type-provider-zod'
import type { ReadService } from '../bookings/read-service.js'
import { isAppError } from '../errors.js'
import { idParams } from '../model/contract/common.js'
import { publicSeatsQuery, publicSeatsResponses } from '../model/contract/realtime.js'
import type { RealtimeHub, Subscription } from '../realtime/index.js'
import type { SeatsLeft } from '../replica/index.js'
import { lastEventId } from './routes-realtime.js'
import { SseStream } from './sse-stream.js'
import type { StreamLimits } from './stream-limits.js'

/** A kiosk or a CDN may reuse a snapshot this long; the stream is what is live. */
const SNAPSHOT_CACHE_CONTROL = 'public, max-age=2, stale-while-revalidate=30'
/** Read-only counts with no credentials: any page may show them. */
const ANY_ORIGIN = { 'access-control-allow-origin': '*' } as const

export function registerPublicRoutes(
  root: FastifyInstance,
  hub: RealtimeHub,
  reads: ReadService,
  streams: StreamLimits,
): void {
  const app = root.withTypeProvider<ZodTypeProvider>()
  const feeds = new SeatsFeeds(hub, reads, root.log)
  const heartbeat = setInterval(() => feeds.heartbeat(), hub.heartbeatMs)
  heartbeat.unref()
  app.addHook('onClose', async () => {
    clearInterval(heartbeat)
    feeds.closeAll()
  })

  app.get(
    '/api/public/exams/:id/seats',
    {
      config: { public: true },
      schema: {
        tags: ['public'],
        summary: 'Seats left for one exam (no token): capacity, booked, seats_left, seq; ETag / If-None-Match',
        params: idParams,
        security: [],
        response: publicSeatsResponses.snapshot,
      },
    },
    async (request, reply) => {
      const entry = await reads.examSeats(request.params.id)
      const etag = `"${entry.seq}"`
      reply.headers({ ...ANY_ORIGIN, etag, 'cache-control': SNAPSHOT_CACHE_CONTROL })
      if (matchesEtag(request.headers['if-none-match'], etag)) return reply.status(304).send(null)
      // The cached bytes as they are, past the serializer (as the other cached reads do).
      return (reply as FastifyReply).type('application/json; charset=utf-8').send(entry.body)
    },
  )

  app.get(
    '/api/public/exams/:id/seats/events',
    {
      config: { public: true },
      // No HEAD twin: a HEAD must not start a stream whose frames are written past ServerResponse.
      exposeHeadRoute: false,
      schema: {
        tags: ['public'],
        summary: 'Seats left for one exam as Server-Sent Events (no token); resumes with Last-Event-ID',
        params: idParams,
        querystring: publicSeatsQuery,
        security: [],
        response: publicSeatsResponses.stream,
      },
    },
    async (request, reply) => {
      const examId = request.params.id
      const after = lastEventId(request) ?? request.query.after ?? null
      // The per-IP and total caps come first: a refused caller costs no query (429 E_TOO_MANY_STREAMS).
      const lease = streams.open(`ip:${request.ip}`, 'public-sse')
      reply.raw.once('close', () => lease.release())
      try {
        // Same resume rule as /api/events: a cursor past retention or past the head is told to refetch.
        const page = after === null ? null : await hub.readChanges({ after, examIds: [examId], limit: 1 })
        // Nothing awaited between join and add: the feed cannot close in between.
        const feed = await feeds.join(examId)
        const stream = openStream(reply, lease.backlogBytes, () => {
          lease.dropped()
          feed.leave(stream)
        })
        if (page?.kind === 'refetch') {
          stream.event('refetch', { seq: page.head })
          return stream.end()
        }
        feed.add(stream, after)
        reply.raw.once('close', () => feed.leave(stream))
      } catch (error) {
        lease.release()
        throw error
      }
    },
  )
}

function openStream(reply: FastifyReply, backlogBytes: number, onDrop: () => void): SseStream {
  reply.hijack()
  const stream = new SseStream(reply.raw, backlogBytes, onDrop, ANY_ORIGIN)
  stream.open()
  return stream
}

/** RFC 9110 §13.1.2: a list of tags or `*`, weak comparison (W/ ignored). */
function matchesEtag(header: string | undefined, etag: string): boolean {
  if (!header) return false
  return header.split(',').some((tag) => {
    const value = tag.trim()
    return value === '*' || value.replace(/^W\//, '') === etag
  })
}

/** One feed per exam somebody watches: one hub subscription and one count query per change, whatever the viewers. */
class SeatsFeeds {
  readonly #feeds = new Map<string, SeatsFeed>()

  constructor(
    readonly hub: RealtimeHub,
    readonly reads: ReadService,
    readonly logger: FastifyBaseLogger,
  ) {}

  /** The exam's feed with its current counts; throws 404 for an unknown exam. */
  async join(examId: string): Promise<SeatsFeed> {
    for (;;) {
      let feed = this.#feeds.get(examId)
      if (!feed) {
        feed = new SeatsFeed(examId, this)
        this.#feeds.set(examId, feed)
      }
      try {
        await feed.loaded
      } catch (error) {
        feed.close()
        throw error
      }
      // Its last viewer left (or the hub ended it) while we waited: start a new one.
      if (!feed.closed) return feed
    }
  }

  forget(feed: SeatsFeed): void {
    if (this.#feeds.get(feed.examId) === feed) this.#feeds.delete(feed.examId)
  }

  heartbeat(): void {
    for (const feed of this.#feeds.values()) feed.heartbeat()
  }

  closeAll(): void {
    for (const feed of [...this.#feeds.values()]) feed.close()
  }
}

class SeatsFeed {
  readonly streams = new Set<SseStream>()
  /** Settles once the first counts are read (rejects 404 for an unknown exam). */
  readonly loaded: Promise<void>
  #seats: SeatsLeft | null = null
  /** The current counts as one SSE frame, shared by every viewer. */
  #frame: Buffer | null = null
  #subscription: Subscription | null
  #refreshing: Promise<void> | null = null
  #again = false
  #closed = false

  get closed(): boolean {
    return this.#closed
  }

  constructor(
    readonly examId: string,
    readonly owner: SeatsFeeds,
  ) {
    // Subscribed before the first read, so that no change between the two is missed. Not a watcher:
    // anonymous viewers do not keep the sync engine pulling from HubSpot.
    this.#subscription = owner.hub.subscribe({
      examIds: [examId],
      watch: false,
      onEvents: () => void this.#refresh(),
      onRefetch: () => this.close(),
      onEnd: () => this.close(),
    })
    this.loaded = this.#refresh(true)
  }

  /** Sends the current counts (unless the viewer's cursor already has them), then every change. */
  add(stream: SseStream, after: string | null): void {
    if (this.#closed) return stream.end()
    if (this.#frame && this.#seats && (after === null || BigInt(this.#seats.seq) > BigInt(after)))
      stream.write(this.#frame)
    stream.event('ready', { seq: this.#seats?.seq ?? after })
    this.streams.add(stream)
  }

  leave(stream: SseStream): void {
    stream.end()
    this.streams.delete(stream)
    if (this.streams.size === 0) queueMicrotask(() => this.streams.size === 0 && this.close())
  }

  heartbeat(): void {
    for (const stream of this.streams) stream.heartbeat()
  }

  /** Ends the viewers' streams (they reconnect with Last-Event-ID) and lets the exam go. */
  close(): void {
    if (this.#closed) return
    this.#closed = true
    this.#subscription?.close()
    this.#subscription = null
    this.owner.forget(this)
    for (const stream of this.streams) stream.end()
    this.streams.clear()
  }

  /** One count query at a time; changes that arrive during it cause one more, not one each. */
  #refresh(first = false): Promise<void> {
    if (this.#refreshing) {
      this.#again = true
      return this.#refreshing
    }
    this.#refreshing = (async () => {
      try {
        do {
          this.#again = false
          this.#publish(await this.owner.reads.currentSeats(this.examId))
        } while (this.#again && !this.#closed)
      } catch (error) {
        if (first) throw error
        // Deleted exam (404) or a failing database: viewers reconnect, and then see why.
        if (!isNotFound(error)) this.owner.logger.warn({ err: error }, 'public seats: recount failed')
        this.close()
      } finally {
        this.#refreshing = null
      }
    })()
    return this.#refreshing
  }

  /** `#seats` is what was last sent (its seq is the frame's id); a recount that changes no count sends nothing. */
  #publish(seats: SeatsLeft): void {
    const previous = this.#seats
    if (previous && BigInt(seats.seq) <= BigInt(previous.seq)) return
    const changed =
      !previous ||
      previous.capacity !== seats.capacity ||
      previous.booked !== seats.booked ||
      previous.seats_left !== seats.seats_left
    // Another booking field changing (a name, an attendance) changes no count: nothing is sent.
    if (!changed) return
    this.#seats = seats
    this.#frame = Buffer.from(`id: ${seats.seq}\nevent: seats\ndata: ${JSON.stringify(seats)}\n\n`)
    for (const stream of this.streams) stream.write(this.#frame)
  }
}

function isNotFound(error: unknown): boolean {
  return isAppError(error) && error.code === 'E_EXAM_NOT_FOUND'
}

// One Server-Sent Events response: headers, pre-encoded frames, heartbeats, and a cut-off for slow readers.
import type { ServerResponse } from 'node:http'
import type { Socket } from 'node:net'

const HEARTBEAT = Buffer.from(': hb\n\n')
const RETRY = Buffer.from('retry: 2000\n\n')
/**
 * The last frame a dropped reader gets (src/client reconnects at once on it, from its cursor).
 * It queues behind the backlog; a reader that never drains it is destroyed after DROP_GRACE_MS.
 */
const DROPPED = Buffer.from(
  'event: dropped\ndata: {"code":"E_SLOW_CONSUMER","message":"reconnect with Last-Event-ID"}\n\n',
)
const DROP_GRACE_MS = 30_000

export const SSE_HEADERS = {
  'content-type': 'text/event-stream',
  'cache-control': 'no-cache',
  // nginx (and Supabase's edge) buffer responses unless told not to.
  'x-accel-buffering': 'no',
} as const

/**
 * The same frame bytes go to every stream, so they are framed as an HTTP chunk once too: a WeakMap
 * keyed by the shared buffer, dropped with it.
 */
const chunks = new WeakMap<Buffer, Buffer>()

function chunked(bytes: Buffer): Buffer {
  let chunk = chunks.get(bytes)
  if (!chunk) {
    chunk = Buffer.concat([Buffer.from(`${bytes.length.toString(16)}\r\n`), bytes, Buffer.from('\r\n')])
    chunks.set(bytes, chunk)
  }
  return chunk
}

export class SseStream {
  readonly #res: ServerResponse
  /** The socket, when frames may be written to it directly (see open()). */
  #socket: Socket | null = null
  #ended = false
  readonly #onDrop: () => void
  /** A reader this far behind is cut off; it reconnects with Last-Event-ID and loses nothing. */
  readonly #maxBufferedBytes: number
  readonly #headers: Record<string, string>

  constructor(
    res: ServerResponse,
    maxBufferedBytes: number,
    onDrop: () => void = () => undefined,
    /** More response headers (the public stream's CORS header). */
    headers: Record<string, string> = {},
  ) {
    this.#res = res
    this.#maxBufferedBytes = maxBufferedBytes
    this.#onDrop = onDrop
    this.#headers = headers
  }

  get ended(): boolean {
    return this.#ended || this.#res.destroyed
  }

  /**
   * Sends the headers now. When they went straight to the socket (nothing queued behind an earlier
   * pipelined response), later frames are written to the socket as ready-made HTTP chunks: one
   * write of one shared buffer per event, instead of ServerResponse's four writes and a cork.
   */
  open(): void {
    this.#res.writeHead(200, { ...SSE_HEADERS, ...this.#headers })
    this.#res.flushHeaders()
    const socket = this.#res.socket
    const queued = (this.#res as unknown as { outputSize?: number }).outputSize
    if (socket && this.#res.chunkedEncoding && queued === 0) this.#socket = socket
    this.write(RETRY)
  }

  /** Writes bytes shared with other streams (one encoding per event, not per client). */
  write(bytes: Buffer): void {
    if (this.ended) return
    if (this.#put(bytes)) return
    this.#drop()
  }

  /** False when the reader is past the backlog limit. */
  #put(bytes: Buffer): boolean {
    const socket = this.#socket
    if (socket) return socket.write(chunked(bytes)) || socket.writableLength <= this.#maxBufferedBytes
    return this.#res.write(bytes) || this.#res.writableLength <= this.#maxBufferedBytes
  }

  /** Says why, ends the stream, and frees it for good if the reader never catches up. */
  #drop(): void {
    this.#put(DROPPED)
    this.end()
    const timer = setTimeout(() => this.#res.destroy(), DROP_GRACE_MS)
    timer.unref()
    this.#res.once('close', () => clearTimeout(timer))
    this.#onDrop()
  }

  event(name: string, data: unknown): void {
    this.write(Buffer.from(`event: ${name}\ndata: ${JSON.stringify(data)}\n\n`))
  }

  heartbeat(): void {
    this.write(HEARTBEAT)
  }

  /** ServerResponse ends the chunked body (the zero-length chunk): our chunks were all whole. */
  end(): void {
    if (this.ended) return
    this.#ended = true
    this.#res.end()
  }
}

// One Server-Sent Events response: headers, pre-encoded frames, heartbeats, and a cut-off for slow readers.
import type { ServerResponse } from 'node:http'
import type { Socket } from 'node:net'

/** A reader this far behind is cut off; it reconnects with Last-Event-ID and loses nothing. */
const MAX_BUFFERED_BYTES = 4 * 1024 * 1024
const HEARTBEAT = Buffer.from(': hb\n\n')
const RETRY = Buffer.from('retry: 2000\n\n')

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

  constructor(res: ServerResponse) {
    this.#res = res
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
    this.#res.writeHead(200, SSE_HEADERS)
    this.#res.flushHeaders()
    const socket = this.#res.socket
    const queued = (this.#res as unknown as { outputSize?: number }).outputSize
    if (socket && this.#res.chunkedEncoding && queued === 0) this.#socket = socket
    this.write(RETRY)
  }

  /** Writes bytes shared with other streams (one encoding per event, not per client). */
  write(bytes: Buffer): void {
    if (this.ended) return
    const socket = this.#socket
    if (socket) {
      if (socket.write(chunked(bytes)) || socket.writableLength <= MAX_BUFFERED_BYTES) return
    } else if (this.#res.write(bytes) || this.#res.writableLength <= MAX_BUFFERED_BYTES) {
      return
    }
    this.#res.destroy()
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

// One Server-Sent Events response: headers, pre-encoded frames, heartbeats, and a cut-off for slow readers.
import type { ServerResponse } from 'node:http'

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

export class SseStream {
  readonly #res: ServerResponse
  #ended = false

  constructor(res: ServerResponse) {
    this.#res = res
  }

  get ended(): boolean {
    return this.#ended || this.#res.destroyed
  }

  open(): void {
    this.#res.writeHead(200, SSE_HEADERS)
    this.write(RETRY)
  }

  /** Writes bytes shared with other streams (one encoding per event, not per client). */
  write(bytes: Buffer): void {
    if (this.ended) return
    if (this.#res.write(bytes) || this.#res.writableLength <= MAX_BUFFERED_BYTES) return
    this.#res.destroy()
  }

  event(name: string, data: unknown): void {
    this.write(Buffer.from(`event: ${name}\ndata: ${JSON.stringify(data)}\n\n`))
  }

  heartbeat(): void {
    this.write(HEARTBEAT)
  }

  end(): void {
    if (this.ended) return
    this.#ended = true
    this.#res.end()
  }
}

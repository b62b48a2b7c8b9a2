// An incremental Server-Sent Events parser (WHATWG "event stream interpretation"), fed raw chunks.

export interface SseMessage {
  /** `event:` field; `message` when the server gave none. */
  event: string
  /** The `data:` lines joined with `\n`. */
  data: string
  /** The last `id:` seen on the stream so far (it persists across events, as in EventSource). */
  id: string
}

export interface SseParserHandlers {
  onMessage(message: SseMessage): void
  /** A `:` line; servers send these as heartbeats. */
  onComment?(text: string): void
  /** A valid `retry:` field, in milliseconds. */
  onRetry?(ms: number): void
}

export interface SseParser {
  /** Feeds the next chunk; bytes are decoded as UTF-8 across chunk boundaries. */
  feed(chunk: string | Uint8Array): void
  /** Flushes the decoder at end of stream. An unterminated last event is dropped, as the spec says. */
  end(): void
  /** The last event id seen, for resuming with `Last-Event-ID`. */
  readonly lastEventId: string
}

export function createSseParser(handlers: SseParserHandlers): SseParser {
  const decoder = new TextDecoder('utf-8')
  let buffer = ''
  let firstChunk = true
  // A chunk that ends in CR may be the first half of CRLF; the next chunk decides.
  let pendingCr = false
  let data = ''
  let hasData = false
  let eventType = ''
  let lastEventId = ''

  function dispatch(): void {
    if (!hasData) {
      eventType = ''
      return
    }
    const message: SseMessage = { event: eventType || 'message', data, id: lastEventId }
    data = ''
    hasData = false
    eventType = ''
    handlers.onMessage(message)
  }

  function processLine(line: string): void {
    if (line === '') {
      dispatch()
      return
    }
    if (line.charCodeAt(0) === 58 /* : */) {
      handlers.onComment?.(line.slice(1).replace(/^ /, ''))
      return
    }
    const colon = line.indexOf(':')
    let field: string
    let value: string
    if (colon === -1) {
      field = line
      value = ''
    } else {
      field = line.slice(0, colon)
      value = line.slice(colon + 1)
      if (value.charCodeAt(0) === 32) value = value.slice(1)
    }
    switch (field) {
      case 'data':
        data = hasData ? `${data}\n${value}` : value
        hasData = true
        break
      case 'event':
        eventType = value
        break
      case 'id':
        // The spec ignores ids containing NUL so that a hostile id cannot truncate the header.
        if (!value.includes('\0')) lastEventId = value
        break
      case 'retry':
        if (/^\d+$/.test(value)) handlers.onRetry?.(Number(value))
        break
      default:
        // Unknown fields are ignored, which is what lets servers extend the format.
        break
    }
  }

  function consume(text: string): void {
    if (text === '') return
    if (firstChunk) {
      firstChunk = false
      if (text.charCodeAt(0) === 0xfeff) text = text.slice(1)
    }
    if (pendingCr) {
      pendingCr = false
      if (text.charCodeAt(0) === 10) text = text.slice(1)
    }
    buffer += text
    let start = 0
    for (let i = 0; i < buffer.length; i++) {
      const c = buffer.charCodeAt(i)
      if (c !== 10 && c !== 13) continue
      processLine(buffer.slice(start, i))
      if (c === 13) {
        if (i + 1 === buffer.length) {
          pendingCr = true
        } else if (buffer.charCodeAt(i + 1) === 10) {
          i++
        }
      }
      start = i + 1
    }
    buffer = start === 0 ? buffer : buffer.slice(start)
  }

  return {
    feed(chunk) {
      consume(typeof chunk === 'string' ? chunk : decoder.decode(chunk, { stream: true }))
    },
    end() {
      consume(decoder.decode())
      buffer = ''
      data = ''
      hasData = false
      eventType = ''
    },
    get lastEventId() {
      return lastEventId
    },
  }
}

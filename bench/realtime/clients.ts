// The benchmark's client process: thousands of minimal SSE and socket.io clients over raw TCP, equally lean.
//
// Both kinds read into one static buffer (net's onread), find the commit stamps by byte search and
// parse nothing else, so that client-side cost is the same for both servers and as small as it gets.
import { randomBytes } from 'node:crypto'
import { connect, type Socket } from 'node:net'
import { clock, serveCommands } from './ipc.js'

const MARKER = Buffer.from('"student_id":"t')
const READY = Buffer.from('event: ready')
/** hubmirror's /api/ws answers a subscribe with {"type":"ready",...} once the backlog is sent. */
const WS_READY = Buffer.from('{"type":"ready"')
const WAVE = 250
const READ_BUFFER = Buffer.allocUnsafe(256 * 1024)

interface Connection {
  close(): void
}

let connections: Connection[] = []
let latencies = new Float64Array(1 << 20)
let count = 0
let lastReceipt = 0

function recordLatency(stamp: number, now: number): void {
  if (count === latencies.length) {
    const grown = new Float64Array(latencies.length * 2)
    grown.set(latencies)
    latencies = grown
  }
  latencies[count++] = now - stamp
  if (now > lastReceipt) lastReceipt = now
}

/** Records every complete stamp; returns where an incomplete one starts, or -1. */
function scan(data: Buffer, now: number): number {
  let from = 0
  for (;;) {
    const at = data.indexOf(MARKER, from)
    if (at === -1) return -1
    const end = data.indexOf(0x22, at + MARKER.length)
    if (end === -1) return at
    recordLatency(Number(data.toString('latin1', at + MARKER.length, end)), now)
    from = end + 1
  }
}

/** Bytes read into the shared buffer must be copied to outlive the callback. */
const keep = (bytes: Buffer): Buffer => Buffer.from(bytes)

/**
 * A TCP connection that sends `request` once connected and hands every read to `onBytes`, from one
 * shared buffer (`onread`): no allocation per read, so the client's cost stays out of the figures.
 */
function openRaw(
  host: string,
  port: number,
  localAddress: string | undefined,
  request: string,
  onBytes: (bytes: Buffer) => void,
  reject: (error: Error) => void,
): Socket {
  const socket: Socket = connect({
    host,
    port,
    localAddress,
    noDelay: true,
    onread: {
      buffer: READ_BUFFER,
      callback: (n) => {
        onBytes(READ_BUFFER.subarray(0, n))
        return true
      },
    },
  })
  socket.on('connect', () => socket.write(request))
  socket.on('error', reject)
  return socket
}

/** An EventSource-alike: the status line, `event: ready`, then stamps; the chunked framing is ignored. */
function openSse(host: string, port: number, path: string, localAddress: string | undefined): Promise<Connection> {
  return new Promise((resolve, reject) => {
    let head = true
    let ready = false
    let carry: Buffer | null = null
    const onBytes = (bytes: Buffer) => {
      const now = clock()
      const data: Buffer = carry ? Buffer.concat([carry, bytes]) : bytes
      carry = null
      if (head) {
        head = false
        if (data.toString('latin1', 0, 12) !== 'HTTP/1.1 200')
          return reject(new Error(`SSE refused: ${data.toString('latin1', 0, 40)}`))
      }
      if (!ready && data.indexOf(READY) !== -1) {
        ready = true
        resolve({ close: () => socket.destroy() })
      }
      const partial = scan(data, now)
      // A read ending mid-frame may have split a stamp or `event: ready`: keep its tail for the next.
      if (partial >= 0) carry = keep(data.subarray(partial))
      else if (data[data.length - 1] !== 0x0a) carry = keep(data.subarray(Math.max(0, data.length - MARKER.length)))
    }
    const socket = openRaw(
      host,
      port,
      localAddress,
      `GET ${path} HTTP/1.1\r\nHost: ${host}:${port}\r\nAccept: text/event-stream\r\n\r\n`,
      onBytes,
      reject,
    )
  })
}

/** A masked client frame (RFC 6455 §5.3), text or pong. */
function frame(opcode: number, payload: Buffer): Buffer {
  const mask = randomBytes(4)
  const out = Buffer.allocUnsafe(6 + payload.length)
  out[0] = 0x80 | opcode
  out[1] = 0x80 | payload.length
  mask.copy(out, 2)
  for (let i = 0; i < payload.length; i++) out[6 + i] = payload[i] ^ mask[i & 3]
  return out
}

/**
 * A WebSocket connection by hand (no library in the measured path): the upgrade on `path`, then
 * every whole frame's opcode and payload to `onMessage`; `onOpen` runs once the upgrade is
 * accepted, before the bytes that came with it are read. The protocol on top settles the promise.
 */
function openRawWs(
  host: string,
  port: number,
  path: string,
  localAddress: string | undefined,
  handlers: {
    onOpen?(socket: Socket): void
    onMessage(socket: Socket, opcode: number, payload: Buffer, now: number): void
    reject(error: Error): void
  },
): void {
  const { reject } = handlers
  let upgraded = false
  let pending: Buffer | null = null
  const onFrames = (data: Buffer, now: number) => {
    let at = 0
    while (data.length - at >= 2) {
      let length = data[at + 1] & 0x7f
      let header = 2
      if (length === 126) {
        if (data.length - at < 4) break
        length = data.readUInt16BE(at + 2)
        header = 4
      } else if (length === 127) {
        if (data.length - at < 10) break
        length = Number(data.readBigUInt64BE(at + 2))
        header = 10
      }
      if (data.length - at < header + length) break
      handlers.onMessage(socket, data[at] & 0x0f, data.subarray(at + header, at + header + length), now)
      at += header + length
    }
    pending = at < data.length ? keep(data.subarray(at)) : null
  }
  const onBytes = (bytes: Buffer) => {
    const now = clock()
    let data: Buffer = pending ? Buffer.concat([pending, bytes]) : bytes
    pending = null
    if (!upgraded) {
      const end = data.indexOf('\r\n\r\n')
      if (end === -1) return void (pending = keep(data))
      if (data.toString('latin1', 0, 12) !== 'HTTP/1.1 101')
        return reject(new Error(`upgrade refused: ${data.toString('latin1', 0, 40)}`))
      upgraded = true
      handlers.onOpen?.(socket)
      data = data.subarray(end + 4)
    }
    onFrames(data, now)
  }
  const socket = openRaw(
    host,
    port,
    localAddress,
    `GET ${path} HTTP/1.1\r\nHost: ${host}:${port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
      `Sec-WebSocket-Key: ${randomBytes(16).toString('base64')}\r\nSec-WebSocket-Version: 13\r\n\r\n`,
    onBytes,
    reject,
  )
}

/** socket.io's protocol (engine.io v4 over WebSocket) by hand: handshake, frames, `40`, ping → pong. */
function openSocketIo(host: string, port: number, localAddress: string | undefined): Promise<Connection> {
  return new Promise((resolve, reject) => {
    const send = (socket: Socket, text: string) => socket.write(frame(0x1, Buffer.from(text)))
    openRawWs(host, port, '/socket.io/?EIO=4&transport=websocket', localAddress, {
      reject,
      onMessage(socket, opcode, payload, now) {
        if (opcode === 0x9) return void socket.write(frame(0xa, payload))
        if (opcode !== 0x1) return
        const kind = payload.toString('latin1', 0, 2)
        if (kind === '42') return void scan(payload, now)
        if (kind === '40') return resolve({ close: () => socket.destroy() })
        if (payload.length === 1 && payload[0] === 0x32) return void send(socket, '3')
        if (payload[0] === 0x30) send(socket, '40')
      },
    })
  })
}

/**
 * hubmirror's /api/ws by hand: upgrade, `subscribe`, then `ready`; change messages are found by the
 * same byte search as the other clients (the frames' headers are skipped, their payloads not parsed).
 */
function openHubWs(host: string, port: number, path: string, localAddress: string | undefined): Promise<Connection> {
  return new Promise((resolve, reject) => {
    openRawWs(host, port, path, localAddress, {
      reject,
      onOpen: (socket) => socket.write(frame(0x1, Buffer.from('{"type":"subscribe"}'))),
      onMessage(socket, opcode, payload, now) {
        if (opcode === 0x9) socket.write(frame(0xa, payload))
        else if (opcode === 0x8) reject(new Error(`ws closed: ${payload.readUInt16BE(0)}`))
        else if (opcode === 0x1) {
          if (payload.indexOf(WS_READY) === 0) resolve({ close: () => socket.destroy() })
          else scan(payload, now)
        }
      },
    })
  })
}

/** Opens with retries, as a real client would after a refused or reset connect under a burst. */
async function openWithRetry(
  open: () => Promise<Connection>,
  reasons: Map<string, number>,
): Promise<Connection | null> {
  for (let attempt = 0; attempt < 5; attempt++) {
    try {
      return await open()
    } catch (error) {
      const reason = error instanceof Error ? error.message.slice(0, 60) : String(error)
      reasons.set(reason, (reasons.get(reason) ?? 0) + 1)
      await new Promise((resolve) => setTimeout(resolve, 100 * (attempt + 1)))
    }
  }
  return null
}

async function connectAll(args: Record<string, unknown>) {
  const total = Number(args.count)
  const host = String(args.host)
  const port = Number(args.port)
  // A source address of its own per run: 18k+ connections a run would otherwise exhaust one address's
  // ephemeral ports (bound sockets do not share ports) while the last run's are still in TIME_WAIT.
  const localAddress = typeof args.localAddress === 'string' ? args.localAddress : undefined
  const path = String(args.path)
  const open =
    args.transport === 'sse'
      ? () => openSse(host, port, path, localAddress)
      : args.transport === 'ws'
        ? () => openHubWs(host, port, path, localAddress)
        : () => openSocketIo(host, port, localAddress)
  const started = clock()
  const reasons = new Map<string, number>()
  let failed = 0
  for (let done = 0; done < total; done += WAVE) {
    const wave = await Promise.all(
      Array.from({ length: Math.min(WAVE, total - done) }, () => openWithRetry(open, reasons)),
    )
    for (const connection of wave) {
      if (connection) connections.push(connection)
      else failed++
    }
  }
  return { connected: connections.length, failed, retried: Object.fromEntries(reasons), ms: clock() - started }
}

serveCommands(
  {
    connect: connectAll,
    reset: () => {
      count = 0
      lastReceipt = 0
      return true
    },
    received: () => count,
    collect: () => ({ latencies: latencies.slice(0, count), lastReceipt, cpu: process.cpuUsage() }),
    close: () => {
      for (const connection of connections) connection.close()
      const closed = connections.length
      connections = []
      return closed
    },
  },
  { pid: process.pid },
)

// The benchmark's client process: thousands of minimal SSE (raw TCP) or socket.io (raw engine.io over ws) clients.
import { connect, type Socket } from 'node:net'
import WebSocket from 'ws'
import { clock, serveCommands } from './ipc.js'

const MARKER = '"student_id":"t'
const WAVE = 250

interface Connection {
  close(): void
}

let connections: Connection[] = []
let latencies = new Float64Array(1 << 20)
let count = 0
let lastReceipt = 0
let disconnected = 0

function recordLatency(stamp: number, now: number): void {
  if (count === latencies.length) {
    const grown = new Float64Array(latencies.length * 2)
    grown.set(latencies)
    latencies = grown
  }
  latencies[count++] = now - stamp
  if (now > lastReceipt) lastReceipt = now
}

/** Records every complete stamp in text; returns the unread tail (a stamp may straddle two reads). */
function scan(text: string, now: number): string {
  let from = 0
  for (;;) {
    const at = text.indexOf(MARKER, from)
    if (at === -1) break
    const end = text.indexOf('"', at + MARKER.length)
    if (end === -1) return text.slice(at)
    recordLatency(Number(text.slice(at + MARKER.length, end)), now)
    from = end + 1
  }
  return text.slice(Math.max(from, text.length - MARKER.length))
}

/** An EventSource-alike in a few lines: the stamps are found in the raw bytes, no JSON parsing. */
function openSse(host: string, port: number, path: string): Promise<Connection> {
  return new Promise((resolve, reject) => {
    const socket: Socket = connect({ host, port })
    socket.setNoDelay(true)
    let tail = ''
    let ready = false
    socket.on('connect', () => socket.write(`GET ${path} HTTP/1.1\r\nHost: ${host}:${port}\r\nAccept: text/event-stream\r\n\r\n`))
    socket.on('data', (chunk) => {
      const now = clock()
      const text = tail + chunk.toString('latin1')
      if (!ready) {
        if (!text.startsWith('HTTP/1.1 200')) return reject(new Error(`SSE refused: ${text.slice(0, 60)}`))
        if (text.includes('event: ready')) {
          ready = true
          resolve({ close: () => socket.destroy() })
        }
      }
      tail = scan(text, now)
    })
    socket.on('error', reject)
    socket.on('close', () => {
      if (ready) disconnected++
    })
  })
}

/** socket.io's protocol (engine.io v4 over WebSocket) by hand, so that both sides pay the same client cost. */
function openSocketIo(host: string, port: number): Promise<Connection> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(`ws://${host}:${port}/socket.io/?EIO=4&transport=websocket`, { perMessageDeflate: false })
    let ready = false
    ws.on('message', (data) => {
      const now = clock()
      const text = data.toString()
      if (text === '2') return ws.send('3')
      if (text.startsWith('42')) return void scan(text, now)
      if (text.startsWith('40')) {
        ready = true
        return resolve({ close: () => ws.terminate() })
      }
      if (text.startsWith('0')) ws.send('40')
    })
    ws.on('error', reject)
    ws.on('close', () => {
      if (ready) disconnected++
    })
  })
}

async function connectAll(args: Record<string, unknown>) {
  const total = Number(args.count)
  const host = String(args.host)
  const port = Number(args.port)
  const open = args.transport === 'sse' ? () => openSse(host, port, String(args.path)) : () => openSocketIo(host, port)
  const started = clock()
  let failed = 0
  for (let done = 0; done < total; done += WAVE) {
    const wave = await Promise.allSettled(Array.from({ length: Math.min(WAVE, total - done) }, open))
    for (const result of wave) {
      if (result.status === 'fulfilled') connections.push(result.value)
      else failed++
    }
  }
  return { connected: connections.length, failed, ms: clock() - started }
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
    collect: () => ({ latencies: latencies.slice(0, count), lastReceipt, disconnected }),
    close: () => {
      for (const connection of connections) connection.close()
      const closed = connections.length
      connections = []
      disconnected = 0
      return closed
    },
  },
  { pid: process.pid },
)

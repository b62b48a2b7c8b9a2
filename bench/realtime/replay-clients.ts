// The replay benchmark's clients: resumed SSE streams over raw TCP that count frames, and chained long-polls.
import { connect } from 'node:net'
import { clock, serveCommands } from './ipc.js'

const CHANGE = Buffer.from('event: change')
const READY = Buffer.from('event: ready')
const DROPPED = Buffer.from('event: dropped')
const READ_BUFFER = Buffer.allocUnsafe(256 * 1024)

interface StreamResult {
  frames: number
  bytes: number
  dropped: boolean
  ms: number
}

/** Carried over from one read to the next: one byte short of the longest marker. */
const CARRY = Math.max(CHANGE.length, READY.length, DROPPED.length) - 1

/** Markers starting at or after `from`: earlier ones lay wholly in the carried bytes and were counted already. */
function count(data: Buffer, marker: Buffer, from: number): number {
  let n = 0
  for (let at = data.indexOf(marker, from); at !== -1; at = data.indexOf(marker, at + marker.length)) n++
  return n
}

/**
 * One resumed EventSource: reads until `event: ready` (the backlog is all sent), counting change
 * frames by byte search, with the tail of each read carried over in case a marker was split.
 */
function resumeSse(host: string, port: number, path: string): Promise<StreamResult> {
  return new Promise((resolve, reject) => {
    const started = clock()
    let frames = 0
    let bytes = 0
    let head = true
    let carry = Buffer.alloc(0)
    const finish = (dropped: boolean) => {
      socket.destroy()
      resolve({ frames, bytes, dropped, ms: clock() - started })
    }
    const socket = connect({
      host,
      port,
      onread: {
        buffer: READ_BUFFER,
        callback: (n) => {
          bytes += n
          const data = Buffer.concat([carry, READ_BUFFER.subarray(0, n)])
          if (head) {
            head = false
            if (data.toString('latin1', 0, 12) !== 'HTTP/1.1 200') {
              socket.destroy()
              reject(new Error(`SSE refused: ${data.toString('latin1', 0, 60)}`))
              return false
            }
          }
          frames += count(data, CHANGE, Math.max(0, carry.length - CHANGE.length + 1))
          if (data.indexOf(DROPPED) !== -1) finish(true)
          else if (data.indexOf(READY) !== -1) finish(false)
          else carry = Buffer.from(data.subarray(Math.max(0, data.length - CARRY)))
          return true
        },
      },
    })
    socket.once('connect', () =>
      socket.write(`GET ${path} HTTP/1.1\r\nHost: ${host}:${port}\r\nAccept: text/event-stream\r\n\r\n`),
    )
    socket.once('error', reject)
  })
}

async function sse(args: Record<string, unknown>) {
  const { host, port, path } = args as { host: string; port: number; path: string }
  return Promise.all(Array.from({ length: Number(args.count) }, () => resumeSse(host, port, path)))
}

/** Polls from the cursor with timeout_ms=0 until the head: each answer is one page of the backlog. */
async function longPoll(args: Record<string, unknown>) {
  const { url, after, head, token } = args as { url: string; after: string; head: string; token: string }
  const chain = async () => {
    let cursor = after
    let events = 0
    let answers = 0
    let bytes = 0
    while (cursor !== head) {
      const response = await fetch(`${url}/api/long-poll?after=${cursor}&timeout_ms=0`, {
        headers: { authorization: `Bearer ${token}` },
      })
      const text = await response.text()
      if (response.status !== 200) throw new Error(`long-poll ${response.status}: ${text.slice(0, 200)}`)
      const body = JSON.parse(text) as { events: unknown[]; cursor: string }
      bytes += Buffer.byteLength(text)
      events += body.events.length
      answers++
      cursor = body.cursor
    }
    return { events, answers, bytes }
  }
  return Promise.all(Array.from({ length: Number(args.count) }, chain))
}

serveCommands({ sse, longPoll }, { pid: process.pid })

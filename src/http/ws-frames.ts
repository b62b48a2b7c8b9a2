// WebSocket text frames built once per event slice and written as they are to every socket that receives it.
import type { WebSocket } from 'ws'
import type { EventSlice } from '../realtime/index.js'

/**
 * A server's frames are not masked (RFC 6455 §5.1), so one event's frame is the same bytes on every
 * socket: framed once here (a WeakMap keyed by the shared slice, dropped with it), each entry its
 * own message, all of the slice's messages back to back so that a socket gets one write per slice.
 */
const framed = new WeakMap<EventSlice, Buffer>()

export function sliceFrames(slice: EventSlice): Buffer {
  let bytes = framed.get(slice)
  if (!bytes) {
    bytes = Buffer.concat(slice.entries.flatMap((entry) => textFrame(entry.wsMessage())))
    framed.set(slice, bytes)
  }
  return bytes
}

/** FIN + text opcode, then the payload length in the shortest form the RFC allows. */
function textFrame(payload: Buffer): [Buffer, Buffer] {
  let header: Buffer
  if (payload.length < 126) {
    header = Buffer.from([0x81, payload.length])
  } else if (payload.length < 65_536) {
    header = Buffer.allocUnsafe(4)
    header[0] = 0x81
    header[1] = 126
    header.writeUInt16BE(payload.length, 2)
  } else {
    header = Buffer.allocUnsafe(10)
    header[0] = 0x81
    header[1] = 127
    header.writeBigUInt64BE(BigInt(payload.length), 2)
  }
  return [header, payload]
}

/** What ws keeps of a server-side socket that the fast path needs (ws 8's own fields). */
interface WsInternals {
  _socket?: { write(bytes: Buffer): boolean; destroyed: boolean }
  _sender?: { _queue?: unknown[]; _state?: number }
}

/**
 * Writes ready-made frames straight to the socket when nothing can be reordered by doing so: no
 * extension negotiated (permessage-deflate would compress, and queue, inside ws's Sender) and
 * nothing queued in the Sender. Otherwise false: the caller sends through ws as usual.
 */
export function writeFrames(socket: WebSocket, frames: Buffer): boolean {
  if (socket.extensions !== '') return false
  const internals = socket as unknown as WsInternals
  const raw = internals._socket
  const sender = internals._sender
  if (!raw || raw.destroyed || !sender || sender._state !== 0 || (sender._queue?.length ?? 1) !== 0) return false
  raw.write(frames)
  return true
}

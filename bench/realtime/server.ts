// The benchmark's server process: hubmirror (SSE from the change log) and a socket.io broadcast server, fed by the same commits.
import { createServer } from 'node:http'
import { monitorEventLoopDelay } from 'node:perf_hooks'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Server } from 'socket.io'
import { createApp } from '../../src/app.js'
import { loadConfig } from '../../src/config/index.js'
import type { BookingRecord } from '../../src/model/records.js'
import { makeBooking, makeExam } from '../../test/support/records.js'
import { upsertBookings, upsertExams } from '../../src/replica/index.js'
import { benchServerEnv, clock, serveCommands } from './ipc.js'

const EXAM_ID = '20000000001'
const dataDir = mkdtempSync(join(tmpdir(), 'hm-bench-rt-'))
const config = loadConfig(
  benchServerEnv(dataDir, {
    // Every benchmark client uses the same token: lift the per-subject and server stream limits past the clients.
    HUBMIRROR_MAX_STREAMS_PER_SUBJECT: '100000',
    HUBMIRROR_MAX_STREAMS: '100000',
  }),
)
// BENCH_FANOUT_CHUNK: subscribers handed an event per turn of the event loop (the hub's default unless set).
const fanoutChunk = process.env.BENCH_FANOUT_CHUNK ? Number(process.env.BENCH_FANOUT_CHUNK) : undefined
const app = await createApp({ config, inMemoryDb: true, webDist: null, realtime: { fanoutChunk } })
const url = await app.listen()

// socket.io doing the same job: every committed change broadcast to every client, encoded once
// by socket.io (it pre-encodes the WebSocket frame for broadcasts).
const ioHttp = createServer()
const io = new Server(ioHttp, { transports: ['websocket'], serveClient: false, perMessageDeflate: false })
app.db.onCommitted((events) => {
  for (const event of events) io.emit('change', event)
})
await new Promise<void>((resolve) => ioHttp.listen(0, '127.0.0.1', resolve))
const ioPort = (ioHttp.address() as { port: number }).port

const exam = makeExam({ hubspot_id: EXAM_ID, capacity: 100_000 })
await app.db.transaction((tx) => upsertExams(tx, [exam], 'sync'))

let nextBooking = 30_000_000_000
/** A production-shaped booking whose student_id carries the time taken just before its commit. */
function booking(stamp: string): BookingRecord {
  const id = String(nextBooking++)
  return makeBooking(exam, {
    hubspot_id: id,
    booking_id: `bk-${EXAM_ID}-${id}`,
    mock_exam_id: EXAM_ID,
    contact_id: String(10_000_000 + (nextBooking % 1e6)),
    student_id: `t${stamp}`,
    student_name: `Student Number${id.slice(-5)}`,
    student_email: `student.${id}@example.com`,
    booking_status: 'confirmed',
    is_active: 'true',
    attending_location: 'Mississauga',
    exam_date: '2026-12-05',
    dominant_hand: 'right',
  })
}

const loopDelay = monitorEventLoopDelay({ resolution: 10 })
loopDelay.enable()

async function write(args: Record<string, unknown>) {
  const transactions = Number(args.transactions)
  const perTransaction = Number(args.perTransaction ?? 1)
  const intervalMs = Number(args.intervalMs ?? 0)
  const started = clock()
  let first = 0
  for (let i = 0; i < transactions; i++) {
    const due = started + i * intervalMs
    const wait = due - clock()
    if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait))
    // Paced commits are stamped with the time they were due, not the time the writer got round to
    // them: a server whose fan-out holds the event loop also delays the next commit, and stamping
    // late would hide that wait from the latency (coordinated omission). Back-to-back commits
    // (the burst) have no due time and are stamped as they start.
    const stamp = intervalMs > 0 ? due : clock()
    if (i === 0) first = stamp
    const stampText = stamp.toFixed(3)
    await app.db.transaction((tx) =>
      upsertBookings(
        tx,
        Array.from({ length: perTransaction }, () => booking(stampText)),
        'write',
      ),
    )
  }
  return { firstCommitAt: first, lastCommitAt: clock(), events: transactions * perTransaction }
}

serveCommands(
  {
    write,
    memory: () => {
      for (let i = 0; i < 3; i++) globalThis.gc?.()
      return process.memoryUsage()
    },
    stats: () => {
      const stats = {
        hub: app.realtime.stats(),
        socketio: io.engine.clientsCount,
        loopDelayP99Ms: loopDelay.percentile(99) / 1e6,
        loopDelayMaxMs: loopDelay.max / 1e6,
      }
      loopDelay.reset()
      return stats
    },
    stop: async () => {
      io.close()
      await app.close()
      rmSync(dataDir, { recursive: true, force: true })
      setImmediate(() => process.exit(0))
      return true
    },
  },
  {
    url,
    ioPort,
    pid: process.pid,
    database: app.db.kind,
    poolMode: app.db.topology.mode,
    wakeups: app.db.topology.wakeups,
    // The soft limit the server runs under: it caps the clients one run can hold.
    openFilesLimit: /Max open files\s+(\d+)/.exec(readFileSync('/proc/self/limits', 'utf8'))?.[1] ?? null,
  },
)

// The replay benchmark's server: hubmirror from BENCH_APP_DIR (this tree, or a checkout of older code), seeded with a backlog.
//
// The same script runs both sides of the A/B: only the product code it imports differs, so the
// harness (seeding, limits, configuration) cannot favour either.
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import type { BookingRecord } from '../../src/model/records.js'
import { makeBooking, makeExam } from '../../test/support/records.js'
import { benchServerEnv, serveCommands } from './ipc.js'

const ROOT = resolve(process.env.BENCH_APP_DIR ?? join(dirname(fileURLToPath(import.meta.url)), '../..'))
const { createApp } = (await import(join(ROOT, 'src/app.js'))) as typeof import('../../src/app.js')
const { loadConfig } = (await import(join(ROOT, 'src/config/index.js'))) as typeof import('../../src/config/index.js')
const { headSeq, upsertBookings, upsertExams } = (await import(
  join(ROOT, 'src/replica/index.js')
)) as typeof import('../../src/replica/index.js')

const EXAM_ID = '20000000001'
const dataDir = mkdtempSync(join(tmpdir(), 'hm-bench-replay-'))
const config = loadConfig(
  benchServerEnv(dataDir, {
    HUBMIRROR_MAX_STREAMS_PER_SUBJECT: '1000',
    // The whole backlog may sit in a socket's buffer: the run measures replay, not the slow-reader cut-off.
    HUBMIRROR_STREAM_BACKLOG_BYTES: String(1024 * 1024 * 1024),
  }),
)
const app = await createApp({ config, inMemoryDb: true, webDist: null })
const url = await app.listen()

const stamp = '2026-12-01T09:00:00.000Z'
const exam = makeExam({
  hubspot_id: EXAM_ID,
  capacity: 100_000,
  created_at: stamp,
  updated_at: stamp,
  hs_lastmodifieddate: stamp,
})

/** Production-shaped bookings, the same on both sides (a name with an accent, as real ones have). */
function booking(n: number): BookingRecord {
  const id = String(30_000_000_000 + n)
  return makeBooking(exam, {
    hubspot_id: id,
    booking_id: `bk-${EXAM_ID}-${id}`,
    contact_id: String(10_000_000 + n),
    student_id: `S${String(n).padStart(7, '0')}`,
    student_name: `Renée Student${n}`,
    student_email: `student.${id}@example.com`,
    dominant_hand: n % 2 ? 'right' : 'left',
    created_at: stamp,
    updated_at: stamp,
    hs_lastmodifieddate: stamp,
  })
}

/** Writes the backlog: `events` bookings of one exam, `perTransaction` to a commit. */
async function seed(args: Record<string, unknown>) {
  const events = Number(args.events)
  const perTransaction = Number(args.perTransaction ?? 500)
  await app.db.transaction((tx) => upsertExams(tx, [exam], 'sync'))
  const from = await headSeq(app.db)
  for (let n = 0; n < events; n += perTransaction) {
    const batch = Array.from({ length: Math.min(perTransaction, events - n) }, (_, i) => booking(n + i))
    await app.db.transaction((tx) => upsertBookings(tx, batch, 'sync'))
  }
  return { from, head: await headSeq(app.db) }
}

serveCommands(
  {
    seed,
    stats: () => app.realtime.stats(),
    stop: async () => {
      await app.close()
      rmSync(dataDir, { recursive: true, force: true })
      setImmediate(() => process.exit(0))
      return true
    },
  },
  { url, pid: process.pid, database: app.db.kind, root: ROOT },
)

// The record history: its size per 1,000 changes (pg_total_relation_size), and the read p99 of a record with 1,000 changes.
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import type { BookingRecord } from '../../src/model/records.js'
import { migrate, openReplica, readHistory, upsertBookings, type ReplicaDriver } from '../../src/replica/index.js'
import { makeBooking, makeExam } from '../../test/support/records.js'
import { freshDatabase } from '../support/database.js'
import { machineInfo, machineLine, round } from '../support/machine.js'
import { percentile } from '../support/stats.js'

const HERE = fileURLToPath(new URL('.', import.meta.url))
const ADMIN_URL = process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres'
/** Changes written to one booking; the size is taken per 1,000 of them. */
const CHANGES = 1_000
/** Other records' history beside it, so the index has to find the record's rows among many. */
const OTHER_BOOKINGS = 2_000
const READS = 500
/** The read budget a person waiting for a timeline should see: the p99 is reported as a ratio of it. */
const READ_LIMIT_MS = 50

const sizeOf = async (db: ReplicaDriver, table: string) =>
  Number((await db.query<{ n: string }>(`SELECT pg_total_relation_size($1)::text AS n`, [table])).rows[0]!.n)

async function timeReads(db: ReplicaDriver, id: string, cursor: string | null): Promise<number[]> {
  const times: number[] = []
  for (let i = 0; i < READS; i++) {
    const started = process.hrtime.bigint()
    await readHistory(db, 'booking', id, { limit: 50, before: cursor })
    times.push(Number(process.hrtime.bigint() - started) / 1e6)
  }
  return times.sort((a, b) => a - b)
}

const database = await freshDatabase(ADMIN_URL, 'bench_history')
const db = await openReplica({ databaseUrl: database.url, dataDir: '' })
try {
  await migrate(db)
  const machine = machineInfo()
  const exam = makeExam()
  // Others first: each created once.
  const others = Array.from({ length: OTHER_BOOKINGS }, (_, i) =>
    makeBooking(exam, { hubspot_id: String(900_000 + i) }),
  )
  for (let i = 0; i < others.length; i += 500)
    await db.transaction((tx) => upsertBookings(tx, others.slice(i, i + 500), 'sync'))
  const before = await sizeOf(db, 'hubmirror.record_history')
  const eventsBefore = await sizeOf(db, 'hubmirror.replica_events')
  // One booking, then 1,000 attendance marks on it (the typical change: one field, by a subject).
  let booking: BookingRecord = makeBooking(exam, { hubspot_id: '123456' })
  await db.transaction((tx) =>
    upsertBookings(tx, [booking], 'write', { origin: { kind: 'hubmirror', subject: 'admin' } }),
  )
  const start = Date.parse(booking.hs_lastmodifieddate)
  for (let i = 1; i <= CHANGES; i++) {
    booking = {
      ...booking,
      attendance: i % 2 ? 'attended' : 'no_show',
      hs_lastmodifieddate: new Date(start + i).toISOString(),
    }
    await db.transaction((tx) =>
      upsertBookings(tx, [booking], 'write', { origin: { kind: 'hubmirror', subject: `admin-${i % 7}@school` } }),
    )
  }
  await db.query('VACUUM ANALYZE hubmirror.record_history')
  await db.query('VACUUM ANALYZE hubmirror.replica_events')
  const after = await sizeOf(db, 'hubmirror.record_history')
  const eventsAfter = await sizeOf(db, 'hubmirror.replica_events')
  const historyPer1000 = ((after - before) * 1000) / (CHANGES + 1)
  const eventsPer1000 = ((eventsAfter - eventsBefore) * 1000) / (CHANGES + 1)
  const first = await timeReads(db, '123456', null)
  const deep = await timeReads(db, '123456', '600')
  const figures = {
    changes: CHANGES + 1,
    otherRecords: OTHER_BOOKINGS,
    historyBytesPer1000Changes: Math.round(historyPer1000),
    changeLogBytesPer1000Changes: Math.round(eventsPer1000),
    historyTableBytes: after,
    firstPage: { p50: round(percentile(first, 50)), p99: round(percentile(first, 99)) },
    olderPage: { p50: round(percentile(deep, 50)), p99: round(percentile(deep, 99)) },
    readLimitMs: READ_LIMIT_MS,
    p99OverLimit: round(Math.max(percentile(first, 99), percentile(deep, 99)) / READ_LIMIT_MS, 3),
    machine,
  }
  writeFileSync(join(HERE, 'last-run.json'), JSON.stringify(figures, null, 2) + '\n')
  console.log(machineLine(machine))
  console.log(`load: ${machine.uptime}`)
  console.log(JSON.stringify(figures, null, 2))
} finally {
  await db.close()
  await database.drop()
}

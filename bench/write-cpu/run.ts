// CPU per row of the backfill's write path (Node and Postgres) at a real account's size, beside a bare batch insert of the same rows: what a backfill's last window is made of.
import { writeFileSync } from 'node:fs'
import { dirname, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import pg from 'pg'
import { BOOKINGS_OBJECT_TYPE_ID, MOCK_EXAMS_OBJECT_TYPE_ID, startEmulator } from '../../src/emulator/index.js'
import { BOOKING_PROPERTIES, bookingFromHubSpot, EXAM_PROPERTIES, type HubSpotObject } from '../../src/hubspot/index.js'
import { BOOKINGS, recordsetDefinition, writtenColumns } from '../../src/replica/columns.js'
import { migrate, openReplica, type ReplicaDriver } from '../../src/replica/index.js'
import { createApplier } from '../../src/sync/apply.js'
import type { SyncType } from '../../src/sync/index.js'
import { freshDatabase, type BenchDatabase } from '../support/database.js'
import { machineInfo, machineLine, round } from '../support/machine.js'
import { postgresCpu, postgresCpuDelta } from '../support/postgres-cpu.js'

const HERE = dirname(fileURLToPath(import.meta.url))
const BOOKINGS_N = Number(process.env.BENCH_BOOKINGS ?? 100_000)
/** As the backfill's writer: rows per transaction, transactions in flight. */
const BATCH_ROWS = 1000
const WRITERS = 2
/** The last stretch measured on its own: the table already holds the rest, as in a backfill's last window. */
const TAIL_ROWS = 20_000

async function listAll(url: string, objectType: string, properties: readonly string[]): Promise<HubSpotObject[]> {
  const objects: HubSpotObject[] = []
  let after: string | undefined
  do {
    const query = new URLSearchParams({ limit: '100', properties: properties.join(',') })
    if (after) query.set('after', after)
    const res = await fetch(`${url}/crm/v3/objects/${objectType}?${query}`, {
      headers: { authorization: 'Bearer bench' },
    })
    if (!res.ok) throw new Error(`list ${objectType}: ${res.status}`)
    const page = (await res.json()) as { results: HubSpotObject[]; paging?: { next?: { after: string } } }
    objects.push(...page.results)
    after = page.paging?.next?.after
  } while (after)
  return objects
}

interface Stretch {
  rows: number
  seconds: number
  nodeUsPerRow: number
  postgresUsPerRow: number
  totalUsPerRow: number
}

/** Writes `objects` in batches, WRITERS at a time, measuring this process's and Postgres's CPU. */
async function measure(
  admin: pg.Client,
  objects: HubSpotObject[],
  write: (batch: HubSpotObject[]) => Promise<unknown>,
): Promise<Stretch> {
  let next = 0
  const writer = async () => {
    for (;;) {
      const batch = objects.slice(next, next + BATCH_ROWS)
      next += BATCH_ROWS
      if (batch.length === 0) return
      await write(batch)
    }
  }
  // Every Postgres process, not just the writers' backends: the WAL writer's work is theirs too.
  const pgBefore = await postgresCpu(admin, null)
  const cpuBefore = process.cpuUsage()
  const started = performance.now()
  await Promise.all(Array.from({ length: WRITERS }, writer))
  const seconds = (performance.now() - started) / 1000
  const cpu = process.cpuUsage(cpuBefore)
  const pgSeconds = postgresCpuDelta(pgBefore, await postgresCpu(admin, null))
  const nodeUs = (cpu.user + cpu.system) / objects.length
  const postgresUs = (pgSeconds * 1e6) / objects.length
  return {
    rows: objects.length,
    seconds: round(seconds, 2),
    nodeUsPerRow: round(nodeUs, 1),
    postgresUsPerRow: round(postgresUs, 1),
    totalUsPerRow: round(nodeUs + postgresUs, 1),
  }
}

/** hubmirror's own path: the backfill's applier (versioned upsert, change log, history). */
function hubmirrorWriter(db: ReplicaDriver, type: SyncType) {
  const applier = createApplier(db)
  return (batch: HubSpotObject[]) => applier.batch((writer) => writer.upsert(type, batch))
}

/** The floor: the same rows into the same table and indexes, one statement a batch, no log, nothing read back. */
function bareWriter(db: ReplicaDriver) {
  const columns = writtenColumns(BOOKINGS)
  const sql = `INSERT INTO ${BOOKINGS.table} (${columns.join(', ')})
               SELECT ${columns.join(', ')} FROM jsonb_to_recordset($1::jsonb) AS r(${recordsetDefinition(BOOKINGS)})
               ON CONFLICT (hubspot_id) DO UPDATE SET ${columns.map((c) => `${c} = EXCLUDED.${c}`).join(', ')}`
  return (batch: HubSpotObject[]) => db.query(sql, [JSON.stringify(batch.map(bookingFromHubSpot))])
}

interface Side {
  head: Stretch
  tail: Stretch
}

async function side(
  name: 'hubmirror' | 'bare',
  adminUrl: string,
  admin: pg.Client,
  exams: HubSpotObject[],
  bookings: HubSpotObject[],
): Promise<Side> {
  const database: BenchDatabase = await freshDatabase(adminUrl, 'bench_write_cpu')
  const db = await openReplica({ databaseUrl: database.url, dataDir: '' }, { maxConnections: WRITERS + 1 })
  try {
    await migrate(db)
    await hubmirrorWriter(db, 'exams')(exams)
    const write = name === 'hubmirror' ? hubmirrorWriter(db, 'bookings') : bareWriter(db)
    const head = await measure(admin, bookings.slice(0, bookings.length - TAIL_ROWS), write)
    const tail = await measure(admin, bookings.slice(bookings.length - TAIL_ROWS), write)
    console.log(`  ${name}: ${JSON.stringify({ head, tail })}`)
    return { head, tail }
  } finally {
    await db.close()
    await database.drop()
  }
}

async function main(): Promise<void> {
  const adminUrl = process.env.DATABASE_URL
  if (!adminUrl) throw new Error('write-cpu needs DATABASE_URL (a Postgres it may create databases on)')
  const machine = machineInfo()
  console.log(`write-cpu: ${BOOKINGS_N.toLocaleString()} bookings; ${machineLine(machine)}`)
  const emulator = await startEmulator({ seed: BOOKINGS_N, rateLimit10s: 1e9, searchRatePerSecond: 1e9, token: null })
  const exams = await listAll(emulator.url, MOCK_EXAMS_OBJECT_TYPE_ID, EXAM_PROPERTIES)
  const bookings = await listAll(emulator.url, BOOKINGS_OBJECT_TYPE_ID, BOOKING_PROPERTIES)
  await emulator.close()
  const admin = new pg.Client({ connectionString: adminUrl })
  await admin.connect()
  try {
    // Alternated, so that a machine slowing down mid-run weighs on both sides alike.
    const runs = Number(process.env.BENCH_RUNS ?? 2)
    const hubmirror: Side[] = []
    const bare: Side[] = []
    for (let i = 0; i < runs; i++) {
      hubmirror.push(await side('hubmirror', adminUrl, admin, exams, bookings))
      bare.push(await side('bare', adminUrl, admin, exams, bookings))
    }
    const best = (sides: Side[], part: keyof Side) =>
      sides.map((s) => s[part]).sort((a, b) => a.totalUsPerRow - b.totalUsPerRow)[0]
    const ratio = {
      tailTotal: round(best(hubmirror, 'tail').totalUsPerRow / best(bare, 'tail').totalUsPerRow, 2),
      tailNode: round(best(hubmirror, 'tail').nodeUsPerRow / best(bare, 'tail').nodeUsPerRow, 2),
      tailPostgres: round(best(hubmirror, 'tail').postgresUsPerRow / best(bare, 'tail').postgresUsPerRow, 2),
    }
    const out = { machine, bookings: BOOKINGS_N, batchRows: BATCH_ROWS, writers: WRITERS, hubmirror, bare, ratio }
    console.log(
      `hubmirror ÷ bare insert, CPU per row in the last ${TAIL_ROWS.toLocaleString()}: ${JSON.stringify(ratio)}`,
    )
    writeFileSync(resolve(HERE, process.env.BENCH_OUT ?? 'last-run.json'), JSON.stringify(out, null, 2) + '\n')
  } finally {
    await admin.end()
  }
}

await main()

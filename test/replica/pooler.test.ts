// The replica driver behind Debian's PgBouncer (transaction and session mode, default startup-parameter policy).
import { existsSync } from 'node:fs'
import pg from 'pg'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { loadConfig } from '../../src/config/index.js'
import {
  detectPoolMode,
  LOCKS,
  lockLabel,
  migrate,
  openReplica,
  upsertBookings,
  upsertExams,
  type ReplicaDriver,
} from '../../src/replica/index.js'
import { freshDatabase, realPostgres, tempDir, type TestDatabase } from '../support/env.js'
import { makeBooking, makeExam } from '../support/fixtures.js'
import { PGBOUNCER, startPrivatePgBouncer, type PrivatePgBouncer } from '../support/private-services.js'

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

describe.skipIf(!realPostgres || !existsSync(PGBOUNCER))('the replica behind PgBouncer', () => {
  let database: TestDatabase
  /** The real server's URL for this database (DATABASE_URL may itself be a pooler in CI). */
  let direct: string
  let transaction: PrivatePgBouncer
  let session: PrivatePgBouncer
  const drivers: ReplicaDriver[] = []
  const dataDir = tempDir('hubmirror-pooler-')
  const open = async (url: string, extra: Record<string, string> = {}) => {
    const driver = await openReplica(loadConfig({ DATABASE_URL: url, HUBMIRROR_DATA_DIR: dataDir.path, ...extra }))
    drivers.push(driver)
    return driver
  }

  beforeAll(async () => {
    database = await freshDatabase()
    const name = new URL(database.url as string).pathname.slice(1)
    const server = new URL(process.env.TEST_DATABASE_ADMIN_URL || (process.env.DATABASE_URL as string))
    server.pathname = `/${name}`
    direct = server.toString()
    transaction = await startPrivatePgBouncer({ server: direct, poolMode: 'transaction' })
    session = await startPrivatePgBouncer({ server: direct, poolMode: 'session' })
  })
  afterAll(async () => {
    await Promise.all(drivers.map((driver) => driver.close().catch(() => undefined)))
    await transaction?.close()
    await session?.close()
    await database?.drop()
    dataDir.remove()
  })

  it('refuses the old startup parameter, as the issue reported', async () => {
    const client = new pg.Client({ connectionString: transaction.url(), options: '-c TimeZone=UTC' })
    await expect(client.connect()).rejects.toThrow(/unsupported startup parameter: options/)
    await client.end().catch(() => undefined)
  })

  it('detects the pool mode: direct and session are sessions, transaction pooling is found by the probe', async () => {
    expect(await detectPoolMode({ url: direct })).toEqual({ mode: 'session', detectedBy: 'probe' })
    expect(await detectPoolMode({ url: session.url() })).toEqual({ mode: 'session', detectedBy: 'probe' })
    expect(await detectPoolMode({ url: transaction.url() })).toEqual({ mode: 'transaction', detectedBy: 'probe' })
    // Supabase's transaction port needs no probe (nothing listens there: no connection is made).
    expect(await detectPoolMode({ url: 'postgres://u@127.0.0.1:6543/db' })).toEqual({
      mode: 'transaction',
      detectedBy: 'port 6543',
    })
    expect(await detectPoolMode({ url: transaction.url(), override: 'session' })).toEqual({
      mode: 'session',
      detectedBy: 'DATABASE_POOL_MODE',
    })
  })

  it('migrates and writes through the transaction pooler; wake-ups by head poll, locks by lease', async () => {
    const db = await open(transaction.url())
    expect(db.topology).toMatchObject({ mode: 'transaction', wakeups: 'poll', locks: 'lease' })
    await migrate(db)
    const exam = makeExam()
    const events = await db.transaction(async (tx) => [
      ...(await upsertExams(tx, [exam], 'manual')),
      ...(await upsertBookings(tx, [makeBooking(exam)], 'write')),
    ])
    expect(events).toHaveLength(2)
  })

  it('uses DATABASE_DIRECT_URL for LISTEN and session locks when it is given', async () => {
    const db = await open(transaction.url(), { DATABASE_DIRECT_URL: direct })
    expect(db.topology).toMatchObject({ mode: 'transaction', wakeups: 'listen-direct', locks: 'session-direct' })
    const received: string[] = []
    const unlisten = await db.listen('hm_pooler_test', { onNotify: (p) => received.push(p), onReconnect() {} })
    await db.notify('hm_pooler_test', 'through-the-pooler')
    await expect.poll(() => received).toEqual(['through-the-pooler'])
    await unlisten()
  })

  it('keeps settings to their transaction: SET LOCAL statement_timeout never leaks to the next client', async () => {
    const db = await open(transaction.url())
    const inside = await db.transaction(
      async (tx) => (await tx.query<{ t: string }>(`SELECT current_setting('statement_timeout') AS t`)).rows[0].t,
    )
    expect(inside).toBe('15s')
    const outside = await Promise.all(
      Array.from(
        { length: 5 },
        async () => (await db.query<{ t: string }>(`SELECT current_setting('statement_timeout') AS t`)).rows[0].t,
      ),
    )
    expect(new Set(outside)).toEqual(new Set(['0']))
  })

  it('serialises UTC timestamps whatever time zone the server gives the session', async () => {
    const admin = new pg.Client({ connectionString: direct })
    await admin.connect()
    const name = new URL(direct).pathname.slice(1)
    await admin.query(`ALTER DATABASE ${name} SET timezone = 'Asia/Kathmandu'`)
    await admin.end()
    // New sessions (the pooler's would keep the zone they started with): the database's default applies.
    const db = await open(direct)
    expect((await db.query<{ tz: string }>(`SELECT current_setting('TimeZone') AS tz`)).rows[0].tz).toBe(
      'Asia/Kathmandu',
    )
    const exam = makeExam({ hs_lastmodifieddate: '2026-03-01T09:30:00.123Z' })
    // As a server's realtime hub listens: the row comes back to be delivered live.
    db.onCommitted(() => undefined)
    const [event] = await db.transaction((tx) => upsertExams(tx, [exam], 'manual'))
    expect((event.row as { hs_lastmodifieddate: string }).hs_lastmodifieddate).toBe('2026-03-01T09:30:00.123+00:00')
    expect(event.at).toMatch(/Z$/)
  })

  it('leases exclude across instances, mark liveness, and run out when their holder is gone', async () => {
    const a = await open(transaction.url())
    const b = await open(transaction.url())
    await migrate(a)
    let inside = 0
    const held = await a.withTryLock(LOCKS.sync, async () => {
      inside++
      // Another instance, and another caller of the same instance, are both turned away.
      expect((await b.withTryLock(LOCKS.sync, async () => inside++)).acquired).toBe(false)
      expect((await a.withTryLock(LOCKS.sync, async () => inside++)).acquired).toBe(false)
      return 'done'
    })
    expect(held).toEqual({ acquired: true, value: 'done' })
    expect(inside).toBe(1)
    expect((await b.withTryLock(LOCKS.sync, async () => 'b')).acquired).toBe(true)

    const owner = 123_456
    const release = await a.holdLock(owner)
    expect(await b.isLocked(owner)).toBe(true)
    // Renewed while held: still held after more than one lease period.
    await sleep(a.topology.leaseTtlMs + 500)
    expect(await b.isLocked(owner)).toBe(true)
    await release()
    expect(await b.isLocked(owner)).toBe(false)

    // A holder that dies (its connections gone without a release) lets go within the lease period.
    const doomed = await open(transaction.url())
    await doomed.holdLock(owner + 1)
    expect(await b.isLocked(owner + 1)).toBe(true)
    await doomed.close()
    // On the database's clock, not a stopwatch: nothing renewed the lease after its holder closed,
    // so it ends at most one lease period after the close.
    const { rows } = await b.query<{ late_ms: number }>(
      `SELECT extract(epoch FROM (expires_at - now())) * 1000 AS late_ms FROM hubmirror.leases WHERE name = $1`,
      [lockLabel(owner + 1)],
    )
    expect(Number(rows[0].late_ms)).toBeLessThanOrEqual(a.topology.leaseTtlMs)
    await expect.poll(() => b.isLocked(owner + 1), { timeout: 30_000, interval: 200 }).toBe(false)
  }, 30_000)
})

// Round trips a hosted database charges a network's latency for: what a start costs when the schema is up to
// date (every start but the first), that pending migrations still go the locked way (and count once when the
// driver runs a transaction again), and a pull's bookkeeping.
// Real Postgres with DATABASE_URL, else PGlite.
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createPgDriver } from '../../src/replica/driver-pg.js'
import { loadMigrations } from '../../src/replica/migrate.js'
import {
  detectPoolMode,
  migrate,
  migrationState,
  readSyncState,
  recordPullStart,
  type ReplicaDriver,
} from '../../src/replica/index.js'
import { freshDatabase, realPostgres } from '../support/env.js'
import { applySql } from '../support/owned-database.js'
import { countingStatements } from '../support/query-spy.js'
import { openMigratedReplica } from '../support/scratch-replica.js'

const MIGRATIONS = join(import.meta.dirname, '../../src/replica/migrations')

/** fn on a driver of a new database of DATABASE_URL's server, never migrated; dropped after. */
async function onFreshPostgres(fn: (driver: ReplicaDriver) => Promise<void>): Promise<void> {
  const database = await freshDatabase()
  const driver = createPgDriver({
    connectionString: database.url!,
    poolMode: await detectPoolMode({ url: database.url! }),
  })
  try {
    await fn(driver)
  } finally {
    await driver.close()
    await database.drop()
  }
}

describe('round trips', () => {
  let replica: Awaited<ReturnType<typeof openMigratedReplica>>

  beforeAll(async () => {
    replica = await openMigratedReplica()
  }, 60_000)

  afterAll(async () => {
    await replica?.close()
  })

  it('on an up-to-date schema: one look at the ledger, no transaction, no lock', async () => {
    const { db, statements, transactions } = countingStatements(replica.db)
    expect(await migrate(db)).toEqual([])
    // Before: a transaction and an advisory lock for the ledger and for each of the eleven
    // migrations, ~60 round trips, each one a network's latency away from a hosted database.
    expect(transactions()).toBe(0)
    expect(statements.length).toBeLessThanOrEqual(2)
    expect(statements.join('\n')).not.toMatch(/advisory/)
  })

  it('with a migration pending: applies it under the lock, and only it', async () => {
    const { pending: none, applied } = await migrationState(replica.db)
    expect(none).toEqual([])
    const last = applied.at(-1)!
    // The newest migration forgotten by the ledger: its statements are written to run again (IF NOT EXISTS).
    await replica.db.query('DELETE FROM hubmirror.schema_migrations WHERE version = $1', [last])
    const { db, statements, transactions } = countingStatements(replica.db)
    expect(await migrate(db)).toEqual([last])
    expect(transactions()).toBeGreaterThan(0)
    if (replica.db.kind === 'pg') expect(statements.join('\n')).toMatch(/pg_advisory_xact_lock/)
    expect((await migrationState(replica.db)).pending).toEqual([])
  })
  it('counts a migration once when its transaction is run again (a deadlock victim or serialization failure)', async () => {
    const last = (await migrationState(replica.db)).applied.at(-1)!
    await replica.db.query('DELETE FROM hubmirror.schema_migrations WHERE version = $1', [last])
    // As the driver's retry does: the first run's work is rolled back, then fn runs again.
    const retrying = Object.assign(Object.create(replica.db) as ReplicaDriver, {
      transaction: (async (fn, options) => {
        const rolledBack = new Error('rolled back, as a retried transaction is')
        await replica.db
          .transaction(async (tx) => {
            await fn(tx)
            throw rolledBack
          }, options)
          .catch((error: unknown) => {
            if (error !== rolledBack) throw error
          })
        return replica.db.transaction(fn, options)
      }) as ReplicaDriver['transaction'],
    })
    expect(await migrate(retrying)).toEqual([last])
    expect((await migrationState(replica.db)).pending).toEqual([])
  })

  it.skipIf(!realPostgres)(
    'on a fresh Postgres database: every migration in one transaction, each in one round trip',
    () =>
      onFreshPostgres(async (fresh) => {
        const { db, statements, transactions } = countingStatements(fresh)
        const migrations = loadMigrations()
        expect(await migrate(db)).toEqual(migrations.map((m) => m.version))
        // The ledger's set-up, then one transaction: the lock, the ledger's look, each migration whole, their
        // ledger rows and the hardening (BEGIN and COMMIT are the driver's, not counted here). Before: a
        // transaction per migration (13 in all) and each of the ~50 statements a round trip of its own (103).
        expect(transactions()).toBe(2)
        expect(statements.length).toBeLessThanOrEqual(migrations.length + 12)
        expect((await migrationState(fresh)).pending).toEqual([])
      }),
  )

  it.skipIf(!realPostgres)(
    "on a database holding the seed's replica tables but no ledger: one migration a transaction, as an upgrade",
    () =>
      onFreshPostgres(async (adopted) => {
        // The tables as the seed's app made them, and may be using: not an empty database.
        await applySql(adopted, readFileSync(join(MIGRATIONS, '001_init.sql'), 'utf8'))
        const { db, transactions } = countingStatements(adopted)
        const migrations = loadMigrations()
        expect(await migrate(db)).toEqual(migrations.map((m) => m.version))
        expect(transactions()).toBe(1 + migrations.length)
        expect((await migrationState(adopted)).pending).toEqual([])
      }),
  )

  it("stamps a pull's start in one statement, and makes a type's row at its first pull", async () => {
    await replica.db.query(`DELETE FROM hubmirror.sync_state WHERE object_type = 'exams'`)
    const { db, statements } = countingStatements(replica.db)
    await recordPullStart(db, 'exams')
    const first = (await readSyncState(replica.db, 'exams')).lastPullStartedAt
    expect(first).not.toBeNull()
    statements.length = 0
    await recordPullStart(db, 'exams')
    expect(statements).toHaveLength(1)
    expect((await readSyncState(replica.db, 'exams')).lastPullStartedAt).not.toBeNull()
  })
})

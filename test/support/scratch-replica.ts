// Migrated replicas for tests: one in-memory per file (emptied between tests), or one on real Postgres when DATABASE_URL is set.
import { afterEach, beforeEach } from 'vitest'
import { createPgDriver } from '../../src/replica/driver-pg.js'
import { createPgliteDriver } from '../../src/replica/driver-pglite.js'
import { detectPoolMode, migrate, type ReplicaDriver } from '../../src/replica/index.js'
import { freshDatabase } from './env.js'

/** PGlite takes seconds to start, so a file opens one and empties it between tests. */
export async function openScratchReplica(): Promise<ReplicaDriver> {
  const db = await createPgliteDriver(null)
  await migrate(db)
  return db
}

export async function emptyReplica(db: ReplicaDriver): Promise<void> {
  await db.query(
    'TRUNCATE public.hubspot_bookings, public.hubspot_mock_exams, hubmirror.sync_state, hubmirror.replica_events',
  )
}

/** A migrated replica in a fresh database of DATABASE_URL's server, else in PGlite; close() drops it. */
export async function openMigratedReplica(): Promise<{ db: ReplicaDriver; close(): Promise<void> }> {
  const database = await freshDatabase()
  const url = database.url
  const db = url
    ? createPgDriver({ connectionString: url, poolMode: await detectPoolMode({ url }) })
    : await createPgliteDriver(null)
  await migrate(db)
  return {
    db,
    async close() {
      await db.close()
      await database.drop()
    },
  }
}

/** A fresh migrated replica for each test of the calling describe block (dropped after it); call the result for it. */
export function replicaPerTest(): () => ReplicaDriver {
  let replica: Awaited<ReturnType<typeof openMigratedReplica>>
  beforeEach(async () => {
    replica = await openMigratedReplica()
  })
  afterEach(async () => {
    await replica.close()
  })
  return () => replica.db
}

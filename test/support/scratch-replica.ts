// For the sync unit tests: one migrated in-memory replica per file, emptied before each test.
import { createPgliteDriver } from '../../src/replica/driver-pglite.js'
import { migrate, type ReplicaDriver } from '../../src/replica/index.js'

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

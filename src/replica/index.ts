// The replica's public face: open the right driver for the config, migrate, and the table modules.
import { join } from 'node:path'
import { makePrivateDir, securePrivateTree } from '../config/data-dir.js'
import type { Config } from '../config/index.js'
import type { ReplicaDriver } from './driver.js'
import { createPgDriver } from './driver-pg.js'
import type { AfterCommit } from './commit.js'
import { detectPoolMode } from './pool-mode.js'

export type { Queryable, ReplicaDriver, Transaction } from './driver.js'
export type { AfterCommit } from './commit.js'
export { detectPoolMode } from './pool-mode.js'
export { migrate, migrationState, pendingMigrations } from './migrate.js'
export { lockLabel, LOCKS, newOwnerKey } from './locks.js'
export * from './change-log.js'
export {
  ensureEventPartitions,
  eventLogLayout,
  EVENT_PARTITION_SEQS,
  keepEventPartitionsAhead,
  type PartitionKeeper,
} from './change-log-partitions.js'
export * from './records.js'
export { fieldChanges } from './field-changes.js'
export * from './reads.js'
export * from './intents.js'
export * from './write-guards.js'
export * from './idempotency.js'
export * from './sync-state.js'
export * from './listing.js'
export * from './exports.js'
export * from './search.js'

export interface OpenReplicaOptions {
  /** Keep an embedded database in memory instead of the data dir (tests). */
  inMemory?: boolean
  maxConnections?: number
  onError?: (error: Error) => void
  /** After each COMMIT that logged change events, before realtime hears of them (the app bumps the cache here). */
  afterCommit?: AfterCommit
}

export async function openReplica(
  config: Pick<Config, 'databaseUrl' | 'dataDir'> & Partial<Pick<Config, 'databaseDirectUrl' | 'databasePoolMode'>>,
  options: OpenReplicaOptions = {},
): Promise<ReplicaDriver> {
  if (config.databaseUrl) {
    return createPgDriver({
      connectionString: config.databaseUrl,
      directUrl: config.databaseDirectUrl,
      poolMode: await detectPoolMode({ url: config.databaseUrl, override: config.databasePoolMode }),
      maxConnections: options.maxConnections,
      onError: options.onError,
      afterCommit: options.afterCommit,
    })
  }
  // Loaded only here: a command run against DATABASE_URL need not load PGlite's modules (~30 ms on their own).
  const { createPgliteDriver } = await import('./driver-pglite.js')
  const follower = { afterCommit: options.afterCommit, onError: options.onError }
  if (options.inMemory) return createPgliteDriver(null, follower)
  // An owner-only data dir keeps PGlite's files from other users whatever their own modes, also
  // when the app is embedded in a program that keeps a looser umask.
  makePrivateDir(config.dataDir)
  const dir = join(config.dataDir, 'pglite')
  const driver = await createPgliteDriver(dir, follower)
  // A new cluster is unpacked from PGlite's bundled image with that image's modes (0666 files), and
  // every open rewrites the relation-cache files (pg_internal.init) 0644, neither following the
  // umask: the tree is made owner-only after each open (a walk costs ~50-200 ms on ~1,000 files).
  securePrivateTree(dir)
  return driver
}

/** The connection as /readyz, the sync status and `hubmirror doctor` report it (snake_case, as the API speaks). */
export function describeTopology(driver: ReplicaDriver) {
  const { mode, detectedBy, wakeups, locks } = driver.topology
  return { pool_mode: mode, pool_mode_detected_by: detectedBy, wakeups, locks }
}

/** True for errors meaning the database cannot be reached (as opposed to a bad query). */
export function isConnectionError(error: unknown): boolean {
  const code = (error as { code?: string } | null)?.code
  const message = String((error as { message?: string } | null)?.message ?? '')
  return (
    code === 'ECONNREFUSED' ||
    code === 'ECONNRESET' ||
    code === 'ETIMEDOUT' ||
    code === 'EPIPE' ||
    code === '57P01' ||
    code === '57P02' ||
    code === '57P03' ||
    code === '08006' ||
    code === '08001' ||
    code === '08003' ||
    /Connection terminated|connection timeout|timeout exceeded when trying to connect|Client has encountered a connection error|Cannot use a pool after calling end/i.test(
      message,
    )
  )
}
export { grantReadPolicies, revokeReadPolicies, listPolicies } from './policies.js'
export { DEFAULT_PUBLICATION, publishReplicaTables, SUPABASE_REALTIME_PUBLICATION } from './publication.js'
export { INTERNAL_SCHEMA, OWN_TABLES_SQL, REPLICA_TABLES } from './schema.js'
export * from './catalog.js'

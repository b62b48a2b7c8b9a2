// The parts the sync engine runs on (replica, cache, HubSpot, write path, engine), wired once for the server and the CLI.
import { WriteService } from './bookings/write-service.js'
import { dependencyNames, openCache, type ResponseCache } from './cache/index.js'
import type { Config } from './config/index.js'
import { createHubSpot, type HubSpot, type HubSpotSettings } from './hubspot/index.js'
import type { Logger } from './logger.js'
import {
  keepEventPartitionsAhead,
  migrate,
  openReplica,
  type PartitionKeeper,
  type ReplicaDriver,
} from './replica/index.js'
import { createSyncEngine, type SyncEngine } from './sync/index.js'

/** The parts the sync engine runs on, as the server and the CLI (`hubmirror sync|backfill|reconcile`) both wire them. */
export interface SyncParts {
  db: ReplicaDriver
  cache: ResponseCache
  hubspot: HubSpot | null
  /** null when no HubSpot is configured (read-only). Not started: the server starts it, the CLI writes nothing. */
  writes: WriteService | null
  sync: SyncEngine | null
  /** Stops the engine, then closes HubSpot, the cache and the replica. */
  close(): Promise<void>
}

export interface SyncPartsOptions {
  config: Config
  logger: Logger
  inMemoryDb?: boolean
  hubspot?: HubSpotSettings
}

/**
 * Opens the replica (migrated) and the cache, and builds HubSpot, the write path and the sync engine
 * over them. Apart from app.ts so that `hubmirror backfill|sync|reconcile` load none of the server's
 * packages (Fastify, GraphQL, Swagger, prom-client: 0.2-0.3 s of a command a person waits for).
 */
export async function openSyncParts(options: SyncPartsOptions): Promise<SyncParts> {
  const { config, logger } = options
  const cache = openCache(config, {
    onDegraded: throttled((error) => logger.warn({ err: error }, 'cache degraded: answering from Postgres')),
    onRedisError: () => undefined,
  })
  // The one commit pipeline (replica/commit.ts): every transaction that logged change events bumps
  // the generations they touch after COMMIT, and only then does realtime hear of them. So a
  // subscriber told of a change and reading the REST API at once reads it, and no writer
  // invalidates by hand.
  let db: ReplicaDriver
  try {
    db = await openReplica(config, {
      inMemory: options.inMemoryDb,
      onError: (error) => logger.warn({ err: error }, 'database connection error'),
      afterCommit: (events) => cache.invalidate(dependencyNames(events)),
    })
  } catch (error) {
    await cache.close()
    throw error
  }
  const { mode, detectedBy, wakeups, locks } = db.topology
  logger.info(
    { kind: db.kind, pool_mode: mode, detected_by: detectedBy, wakeups, locks },
    `database: ${db.kind === 'pglite' ? 'embedded' : `${mode} pooling (${detectedBy})`}; wake-ups by ${wakeups}, locks by ${locks}`,
  )
  let partitions: PartitionKeeper
  try {
    await migrate(db)
    // Every process that appends to the change log keeps its partitions ahead of its appends.
    partitions = await keepEventPartitionsAhead(
      db,
      throttled(
        (error) =>
          logger.warn(
            { err: error },
            'change log: adding partitions failed; appends use its default partition meanwhile',
          ),
        60_000,
      ),
    )
  } catch (error) {
    await db.close()
    await cache.close()
    throw error
  }
  if (!(await cache.ready())) logger.warn('Redis is not reachable yet: reads go to Postgres until it is')
  const hubspot = options.hubspot
    ? createHubSpot(config, {
        onBudgetFallback: throttled((error) =>
          logger.warn({ err: error }, 'Redis unreachable: HubSpot budget falls back to this instance’s share'),
        ),
        ...options.hubspot,
      })
    : null
  const writes = hubspot ? new WriteService({ db, hubspot, logger }) : null
  // The engine resolves the write path's unfinished intents before each pull.
  const sync = hubspot
    ? createSyncEngine({
        db,
        hubspot,
        logger,
        config,
        beforePull: writes ? async () => void (await writes.recovery.resolvePending()) : undefined,
      })
    : null
  return {
    db,
    cache,
    hubspot,
    writes,
    sync,
    async close() {
      await sync?.stop()
      await writes?.stop()
      await hubspot?.close()
      await cache.close()
      await partitions.stop()
      await db.close()
    },
  }
}

/** A Redis outage would otherwise log once per request: at most one line per 10 s. */
function throttled(log: (error: unknown) => void, everyMs = 10_000): (error: unknown) => void {
  let last = 0
  return (error) => {
    if (Date.now() - last < everyMs) return
    last = Date.now()
    log(error)
  }
}

// The change log's partitions by seq range: made ahead of the appends, dropped whole when every event in them is past retention.
//
//   seq:  0 ─────── head+1 ─────── +100k ─────── +100k ─────── +100k          (any seq no range holds)
//         │ from_0  │ from_<head+1> │ from_…      │ from_…      │            │ default │
//         └ dropped whole by the prune once its last seq is at or below the boundary;
//           the one the boundary falls in has its old rows deleted in batches.
//
// Why partitions (bench/RESULTS.md, "The change log in partitions"): deleting 4.9M events touched
// every heap page of them, each first touch after a checkpoint wrote the page whole to the WAL
// (1.6 GB), and the checkpoints that set off held writers' commits for up to 190 ms. Dropping a
// partition is a catalog change and an unlink: kilobytes of WAL.
//
// Locks: attaching a partition takes SHARE UPDATE EXCLUSIVE on the log (no writer or reader waits)
// and ACCESS EXCLUSIVE on the default partition, which readers of the whole log also lock; dropping
// one takes ACCESS EXCLUSIVE on the log. Each such statement waits at most DDL_LOCK_TIMEOUT_MS for
// its lock (everyone arriving meanwhile queues behind it), then gives up until the next try.
import { setTimeout as sleep } from 'node:timers/promises'
import { dataApiRoles } from './catalog.js'
import type { Queryable, ReplicaDriver } from './driver.js'
import { LOCKS } from './locks.js'
import { statementsFor } from './sql-script.js'
import { CHANGE_LOG_HEAD, CHANGE_LOG_TABLE, INTERNAL_SCHEMA } from './schema.js'

/** Seqs to a partition: about a week of a busy account's changes (5,000,000 a year), a tenth of a 1M backfill. */
export const EVENT_PARTITION_SEQS = 100_000
/** Partitions' worth of seqs kept made past the head, so that appends do not reach the default partition. */
const PARTITIONS_AHEAD = 2
/** The longest a partition's DDL waits for its lock, and so the longest a writer queued behind it waits. */
const DDL_LOCK_TIMEOUT_MS = 50
/** Tries to drop one partition within a prune before it is left for the next prune. */
const DROP_ATTEMPTS = 3
/** Between tries of a DDL statement that did not get its lock: the writers it held up go first. */
const DDL_RETRY_PAUSE_MS = 100
/** After a failed maintenance run, how long appends go without triggering another. */
const RETRY_AFTER_FAILURE_MS = 60_000
const LOCK_NOT_AVAILABLE = '55P03'

const LOG = CHANGE_LOG_TABLE
const DEFAULT_PARTITION = 'replica_events_default'
/** The log as it was before partitions (migration 011): [0, its head + 1), however many events that is. */
const LOG_BEFORE_PARTITIONS = 'replica_events_from_0'

/** One partition: the seqs [from, to). */
export interface EventPartition {
  name: string
  from: bigint
  to: bigint
}

export interface EventLogLayout {
  /** The range partitions, oldest first (the default partition is not one). */
  ranges: EventPartition[]
  head: bigint
}

const BOUND = /FROM \('?(-?\d+)'?\) TO \('?(-?\d+)'?\)/

export async function eventLogLayout(db: Queryable): Promise<EventLogLayout> {
  const { rows } = await db.query<{ head: string; parts: { name: string; bound: string }[] }>(
    `SELECT ${CHANGE_LOG_HEAD}::text AS head,
            coalesce((SELECT json_agg(json_build_object('name', p.relname, 'bound', pg_get_expr(p.relpartbound, p.oid)))
                        FROM pg_inherits i JOIN pg_class p ON p.oid = i.inhrelid
                       WHERE i.inhparent = c.oid), '[]'::json) AS parts
       FROM pg_class c WHERE c.oid = $1::regclass`,
    [LOG],
  )
  const ranges: EventPartition[] = []
  for (const part of rows[0].parts) {
    const bound = BOUND.exec(part.bound)
    if (bound) ranges.push({ name: part.name, from: BigInt(bound[1]), to: BigInt(bound[2]) })
  }
  ranges.sort((a, b) => (a.from < b.from ? -1 : 1))
  return { ranges, head: BigInt(rows[0].head) }
}

export interface EnsurePartitionsOptions {
  /** Make partitions for seqs up to here as well (a bulk load that knows how many it writes). */
  through?: bigint
  size?: number
}

/** The first seq no partition holds, and the last seq the appends to come want one for. */
function partitionsWanted({ ranges, head }: EventLogLayout, size: bigint, through?: bigint) {
  const top = ranges.at(-1)?.to ?? 0n
  const upTo = through !== undefined && through > head ? through : head
  // Events past every range went to the default partition: a new range starts above them.
  return { next: top > head ? top : head + 1n, wanted: upTo + size * BigInt(PARTITIONS_AHEAD) }
}

/**
 * Makes the partitions the next appends need: until PARTITIONS_AHEAD partitions' worth of seqs past
 * the head (and past `through`) have one. Returns the first seq no partition holds yet. Every start
 * calls this and mostly finds them made: one look settles that, without the transaction, lock and
 * lock timeout that making them takes. Concurrent makers (other instances) take turns on the lock
 * and look again under it.
 */
export async function ensureEventPartitions(db: ReplicaDriver, options: EnsurePartitionsOptions = {}): Promise<bigint> {
  const size = BigInt(options.size ?? EVENT_PARTITION_SEQS)
  const seen = partitionsWanted(await eventLogLayout(db), size, options.through)
  if (seen.next > seen.wanted) return seen.next
  return db.transaction(
    async (tx) => {
      await tx.query(`SET LOCAL lock_timeout = '${DDL_LOCK_TIMEOUT_MS}ms'`)
      await tx.query('SELECT pg_advisory_xact_lock($1)', [LOCKS.partitions])
      let { next, wanted } = partitionsWanted(await eventLogLayout(tx), size, options.through)
      if (next > wanted) return next
      const roles = await dataApiRoles(tx)
      const ddl: string[] = []
      for (; next <= wanted; next += size) ddl.push(...attachPartition(next, next + size, roles))
      for (const statement of statementsFor(db.kind, ddl.join(';\n'))) await tx.query(statement)
      return next
    },
    { schema: true },
  )
}

/** The statements that make the partition [from, to) and attach it. */
function attachPartition(from: bigint, to: bigint, roles: readonly string[]): string[] {
  const table = `${INTERNAL_SCHEMA}.replica_events_from_${from}`
  return [
    // Made apart and then attached: CREATE TABLE ... PARTITION OF would lock the whole log exclusively.
    `CREATE TABLE ${table} (LIKE ${LOG} INCLUDING CONSTRAINTS)`,
    `ALTER TABLE ${LOG} ATTACH PARTITION ${table} FOR VALUES FROM (${from}) TO (${to})`,
    // As migrate.ts hardens every internal table: reachable from the Data API roles by nothing.
    `ALTER TABLE ${table} ENABLE ROW LEVEL SECURITY`,
    ...roles.map((role) => `REVOKE ALL ON ${table} FROM "${role}"`),
  ]
}

function lockNotAvailable(error: unknown): boolean {
  return (error as { code?: string } | null)?.code === LOCK_NOT_AVAILABLE
}

/**
 * Drops, oldest first, every partition whose last seq is at or below `through`; returns the events
 * they held. Stops at the first whose lock is not had: it and those after it stay, unread behind
 * the boundary, until the next prune.
 */
export async function dropPartitionsThrough(
  db: ReplicaDriver,
  ranges: readonly EventPartition[],
  through: bigint,
): Promise<number> {
  let events = 0
  for (const range of ranges.filter((r) => r.to - 1n <= through)) {
    const held = await dropPartition(db, range)
    if (held === null) break
    events += held
  }
  return events
}

/** The events the partition held, or null when its lock was not had in DROP_ATTEMPTS tries. */
async function dropPartition(db: ReplicaDriver, range: EventPartition): Promise<number | null> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await db.transaction(
        async (tx) => {
          await tx.query(`SET LOCAL lock_timeout = '${DDL_LOCK_TIMEOUT_MS}ms'`)
          const table = `${INTERNAL_SCHEMA}.${quoteName(range.name)}`
          const { rows } = await tx.query<{ n: string }>(`SELECT count(*)::text AS n FROM ${table}`)
          await tx.query(`DROP TABLE ${table}`)
          return Number(rows[0].n)
        },
        { schema: true },
      )
    } catch (error) {
      if (!lockNotAvailable(error)) throw error
      if (attempt >= DROP_ATTEMPTS) return null
      await sleep(DDL_RETRY_PAUSE_MS)
    }
  }
}

/**
 * The tables that may hold events at or below `through` and are not dropped whole: deleted from row
 * by row. Not the log as it was before partitions: an upgraded account's year of events would be
 * deleted row by row as before; its rows wait, unread, until the last of them is past retention,
 * and then it is dropped whole.
 */
export function tablesToTrim(ranges: readonly EventPartition[], through: bigint): string[] {
  const straddling = ranges.filter(
    (range) => range.from <= through && range.to - 1n > through && range.name !== LOG_BEFORE_PARTITIONS,
  )
  return [
    ...straddling.map((range) => `${INTERNAL_SCHEMA}.${quoteName(range.name)}`),
    `${INTERNAL_SCHEMA}.${DEFAULT_PARTITION}`,
  ]
}

/** Partition names come from the catalog; quoted all the same. */
function quoteName(name: string): string {
  return `"${name.replaceAll('"', '""')}"`
}

export interface PartitionKeeper {
  stop(): Promise<void>
}

/**
 * Keeps partitions ahead of this process's appends: once now, then whenever a commit's last seq
 * comes within a partition of the last one made. Failures (a lock not had in time, a role that may
 * not create tables) go to onError; appends go on meanwhile, into the default partition if need be.
 */
export async function keepEventPartitionsAhead(
  db: ReplicaDriver,
  onError: (error: unknown) => void,
): Promise<PartitionKeeper> {
  const size = BigInt(EVENT_PARTITION_SEQS)
  let top: bigint | null = null
  let retryAt = 0
  let running: Promise<void> | null = null
  const run = (): Promise<void> =>
    (running ??= ensureEventPartitions(db)
      .then((made) => void (top = made))
      .catch((error: unknown) => {
        retryAt = Date.now() + RETRY_AFTER_FAILURE_MS
        onError(error)
      })
      .finally(() => (running = null)))
  await run()
  // Only the seqs matter here: listening must not make a backfill send its rows back (commit.ts).
  const off = db.onCommitted(
    (events) => {
      const last = events.at(-1)
      if (!last || running || Date.now() < retryAt) return
      if (top === null || BigInt(last.seq) + size >= top) void run()
    },
    { rows: false },
  )
  return {
    async stop() {
      off()
      await running
    },
  }
}

// Every cluster-wide lock hubmirror takes, named once, in a key range that no owner key can reach.
//
// Two kinds of key share Postgres's one advisory-lock space (and the lease table's names):
//   - the named locks below, all in [LOCK_RANGE_START, LOCK_RANGE_START + 0xffff];
//   - owner keys (one random key per write-service instance, its liveness), from newOwnerKey().
// Owner keys are positive 31-bit integers (they are stored in write_intents.owner_key INTEGER),
// the named locks start above 2^46, so a random owner key can never collide with one of them.
import { randomInt } from 'node:crypto'

/** "hm" in the high bytes, far above any INTEGER: well inside JavaScript's safe integers and Postgres's bigint. */
const LOCK_RANGE_START = 0x686d_0000_0000

export const LOCKS = {
  /** Schema migrations: concurrent starters apply each migration once (transaction-scoped). */
  migrate: LOCK_RANGE_START + 1,
  /** Change-log appends: held from the first event insert to commit, so that seq order is commit order (transaction-scoped). */
  append: LOCK_RANGE_START + 2,
  /** Change-log pruning: one instance prunes at a time (outlives a statement: lease or session lock). */
  prune: LOCK_RANGE_START + 3,
  /** Change-log partitions: one maintainer at a time adds them (transaction-scoped). */
  partitions: LOCK_RANGE_START + 5,
  /** Exam-counter flights: HubSpot's total_bookings is written by one flight at a time, cluster-wide (lease or session lock). */
  counter: LOCK_RANGE_START + 4,
  /** Sync engine: one pull, backfill, force sync or reconcile --fix at a time, cluster-wide (lease or session lock). */
  sync: LOCK_RANGE_START + 10,
} as const

/** The name of one advisory lock (a key of LOCKS). @public */
export type LockName = keyof typeof LOCKS

/** The largest owner key: write_intents.owner_key is an INTEGER. */
const OWNER_KEY_MAX = 2 ** 31 - 1

/** True for keys that belong to the named locks, never to an owner. */
export function isNamedLock(key: number): boolean {
  return key >= LOCK_RANGE_START && key <= LOCK_RANGE_START + 0xffff
}

/** A random owner key for one instance's liveness: a positive INTEGER, below every named lock. */
export function newOwnerKey(): number {
  return randomInt(1, OWNER_KEY_MAX)
}

/** How a lock shows up where it has a name (the lease table, logs): "sync", or "owner:<key>". */
export function lockLabel(key: number): string {
  const named = Object.entries(LOCKS).find(([, value]) => value === key)
  return named ? named[0] : `owner:${key}`
}

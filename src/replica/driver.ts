// The small interface every Postgres backend implements: queries, transactions, locks, notifications.
import type { CommittedEvent } from '../model/records.js'
import type { PoolModeFinding } from './pool-mode.js'

export interface QueryResult<R> {
  rows: R[]
  rowCount: number
}

export interface Queryable {
  query<R = Record<string, unknown>>(sql: string, params?: unknown[]): Promise<QueryResult<R>>
}

/** A transaction: queries, plus change events to announce in this process once it commits. */
export interface Transaction extends Queryable {
  announce(events: readonly CommittedEvent[]): void
  /**
   * Whether, when it began, a listener here took whole events (the realtime hub, which delivers
   * them live). When none did, a bulk insert announces envelopes and leaves its rows in the log.
   */
  readonly wantsRows: boolean
}

/** Hears each commit's events in commit order; events may be envelopes (see CommittedEvent). */
export type CommitListener = (events: readonly CommittedEvent[]) => void

export interface CommitListenerOptions {
  /** The listener uses the events' rows and change lists (default true): while it listens, transactions send them back. */
  rows?: boolean
}

export type LockResult<T> = { acquired: true; value: T } | { acquired: false }

/** The locks of ReplicaDriver, as each backend (session advisory locks, leases, in-process) provides them. */
export interface LockBackend {
  withTryLock<T>(key: number, fn: () => Promise<T>): Promise<LockResult<T>>
  holdLock(key: number): Promise<() => Promise<void>>
  isLocked(key: number): Promise<boolean>
  close(): void
}

export interface ListenHandlers {
  onNotify(payload: string): void
  /** Called after a lost LISTEN connection is back: notifications sent meanwhile are gone. */
  onReconnect(): void
}

/** Where the driver is connected, and so what it may rely on; logged at start, shown in /readyz and the sync status. */
export interface DatabaseTopology extends PoolModeFinding {
  /**
   * How commits of other instances wake this one: LISTEN on DATABASE_URL (a session), LISTEN on
   * DATABASE_DIRECT_URL, a short poll of the change log's head (transaction pooler, no direct URL),
   * or nothing to wait for (embedded: one process sees every commit).
   */
  wakeups: 'listen' | 'listen-direct' | 'poll' | 'in-process'
  /** How locks that outlive a transaction are held: see locks-session.ts, locks-lease.ts. */
  locks: 'session' | 'session-direct' | 'lease' | 'in-process'
  /** With leases, a crashed instance still looks alive for up to this long; 0 where liveness is exact. */
  leaseTtlMs: number
}

export interface TransactionOptions {
  /** Schema changes (migrations): on DATABASE_DIRECT_URL when set, and without the write timeout. */
  schema?: boolean
}

export interface ReplicaDriver extends Queryable {
  readonly kind: 'pg' | 'pglite'
  readonly topology: DatabaseTopology
  /**
   * Runs fn in one transaction. fn may run more than once: a transaction that Postgres aborts as a
   * deadlock victim or a serialization failure is run again, so fn keeps its effects inside tx (or
   * starts each run from the same state).
   */
  transaction<T>(fn: (tx: Transaction) => Promise<T>, options?: TransactionOptions): Promise<T>
  /** Change events committed by this process, in commit order (other instances learn via NOTIFY). */
  onCommitted(listener: CommitListener, options?: CommitListenerOptions): () => void
  /** Runs fn while holding a cluster-wide lock named by key (see locks.ts); does not wait when another holder has it. */
  withTryLock<T>(key: number, fn: () => Promise<T>): Promise<LockResult<T>>
  /** Holds a lock for as long as this process lives (its liveness, seen by other instances). */
  holdLock(key: number): Promise<() => Promise<void>>
  /** Whether some live holder has the lock. */
  isLocked(key: number): Promise<boolean>
  /** Only where topology.wakeups is 'listen', 'listen-direct' or 'in-process'; throws on 'poll'. */
  listen(channel: string, handlers: ListenHandlers): Promise<() => Promise<void>>
  notify(channel: string, payload: string): Promise<void>
  close(): Promise<void>
}

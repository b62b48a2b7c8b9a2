// The small interface every Postgres backend implements: queries, transactions, locks, notifications.
import type { ChangeEvent } from '../model/records.js'

export interface QueryResult<R> {
  rows: R[]
  rowCount: number
}

export interface Queryable {
  query<R = Record<string, unknown>>(sql: string, params?: unknown[]): Promise<QueryResult<R>>
}

/** A transaction: queries, plus change events to announce in this process once it commits. */
export interface Transaction extends Queryable {
  announce(events: readonly ChangeEvent[]): void
}

export type CommitListener = (events: readonly ChangeEvent[]) => void

export type LockResult<T> = { acquired: true; value: T } | { acquired: false }

export interface ListenHandlers {
  onNotify(payload: string): void
  /** Called after a lost LISTEN connection is back: notifications sent meanwhile are gone. */
  onReconnect(): void
}

export interface ReplicaDriver extends Queryable {
  readonly kind: 'pg' | 'pglite'
  transaction<T>(fn: (tx: Transaction) => Promise<T>): Promise<T>
  /** Change events committed by this process, in commit order (other instances learn via NOTIFY). */
  onCommitted(listener: CommitListener): () => void
  /** Runs fn while holding a cluster-wide lock named by key; does not wait when another holder has it. */
  withTryLock<T>(key: number, fn: () => Promise<T>): Promise<LockResult<T>>
  /** Holds a lock for as long as this process lives (its liveness, seen by other instances). */
  holdLock(key: number): Promise<() => Promise<void>>
  /** Whether some live session holds the lock. */
  isLocked(key: number): Promise<boolean>
  listen(channel: string, handlers: ListenHandlers): Promise<() => Promise<void>>
  notify(channel: string, payload: string): Promise<void>
  close(): Promise<void>
}

// Announces the change events of committed transactions to in-process listeners, after COMMIT.
import type { ChangeEvent } from '../model/records.js'
import type { CommitListener, Queryable, Transaction } from './driver.js'

export interface Announcer {
  onCommitted(listener: CommitListener): () => void
  /** Wraps a transaction's queryable; call commit() after COMMIT succeeded. */
  begin(queryable: Queryable): { tx: Transaction; commit(): void }
}

export function createAnnouncer(): Announcer {
  const listeners = new Set<CommitListener>()
  return {
    onCommitted(listener) {
      listeners.add(listener)
      return () => listeners.delete(listener)
    },
    begin(queryable) {
      const pending: ChangeEvent[] = []
      return {
        tx: { query: queryable.query, announce: (events) => pending.push(...events) },
        commit() {
          if (pending.length === 0) return
          for (const listener of listeners) listener(pending)
        },
      }
    },
  }
}

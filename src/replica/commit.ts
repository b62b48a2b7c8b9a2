// The commit pipeline: after COMMIT, a transaction's change events go to the follower hook (the cache), then to realtime.
import type { CommittedEvent } from '../model/records.js'
import type { CommitListener, CommitListenerOptions, Queryable, Transaction } from './driver.js'

/**
 * Runs after COMMIT and before anyone in this process hears of the events: what must hold for
 * readers by the time a subscriber is told (the app bumps the cache generations the events touch).
 * The replica does not know the cache; the app wires the two (src/app.ts).
 */
export type AfterCommit = (events: readonly CommittedEvent[]) => Promise<void>

export interface CommitPipelineOptions {
  afterCommit?: AfterCommit
  /** The hook failed: the transaction is committed all the same, and its events are still announced. */
  onError?: (error: Error) => void
}

export interface CommitPipeline {
  onCommitted(listener: CommitListener, options?: CommitListenerOptions): () => void
  /** Wraps one run of a transaction's queryable; `events()` is what it announced. */
  begin(queryable: Queryable): { tx: Transaction; events(): readonly CommittedEvent[] }
  /**
   * Call once COMMIT succeeded: the follower hook, then the listeners; resolves when both are done,
   * so that a write answers only once its cache bump is. Announcements keep the order of the calls:
   * a commit whose hook is slow holds back the announcement of the commits after it, so that no
   * subscriber hears of an event before the events committed ahead of it are readable.
   */
  committed(events: readonly CommittedEvent[]): Promise<void>
}

export function createCommitPipeline(options: CommitPipelineOptions = {}): CommitPipeline {
  const listeners = new Set<CommitListener>()
  // The listeners that use rows: while there are none, transactions begin with wantsRows false.
  const rowListeners = new Set<CommitListener>()
  let announced: Promise<void> = Promise.resolve()
  const follow = async (events: readonly CommittedEvent[]): Promise<void> => {
    try {
      await options.afterCommit?.(events)
    } catch (error) {
      options.onError?.(error as Error)
    }
  }
  return {
    onCommitted(listener, listenerOptions = {}) {
      listeners.add(listener)
      if (listenerOptions.rows !== false) rowListeners.add(listener)
      return () => {
        listeners.delete(listener)
        rowListeners.delete(listener)
      }
    },
    begin(queryable) {
      const pending: CommittedEvent[] = []
      return {
        tx: { query: queryable.query, announce: (events) => pending.push(...events), wantsRows: rowListeners.size > 0 },
        events: () => pending,
      }
    },
    committed(events) {
      if (events.length === 0) return Promise.resolve()
      const followed = follow(events)
      const turn = Promise.all([announced, followed]).then(() => {
        for (const listener of listeners) {
          try {
            listener(events)
          } catch (error) {
            options.onError?.(error as Error)
          }
        }
      })
      announced = turn
      return turn
    },
  }
}

// The embedded backend: PGlite (Postgres in WebAssembly) under the data dir, for one-machine use.
import { PGlite } from '@electric-sql/pglite'
import { pg_trgm } from '@electric-sql/pglite/contrib/pg_trgm'
import { createCommitPipeline, type CommitPipelineOptions } from './commit.js'
import type { CommittedEvent } from '../model/records.js'
import type { ListenHandlers, LockResult, QueryResult, ReplicaDriver, Transaction } from './driver.js'

function toResult<R>(result: { rows: unknown[]; affectedRows?: number }): QueryResult<R> {
  return { rows: result.rows as R[], rowCount: result.affectedRows || result.rows.length }
}

/** dataDir null keeps the database in memory (tests). */
export async function createPgliteDriver(
  dataDir: string | null,
  options: CommitPipelineOptions = {},
): Promise<ReplicaDriver> {
  // pg_trgm backs the student search's index (migration 007); PGlite ships it, loaded on request.
  const extensions = { pg_trgm }
  const db = dataDir ? await PGlite.create(dataDir, { extensions }) : await PGlite.create({ extensions })
  await db.query(`SET TIME ZONE 'UTC'`)
  // PGlite is one session in one process, so Postgres advisory locks would always succeed:
  // the lock lives in process memory instead, which is exact for a single instance.
  const heldLocks = new Set<number>()
  const pipeline = createCommitPipeline(options)

  const query = async <R>(sql: string, params?: unknown[]): Promise<QueryResult<R>> =>
    toResult<R>(await db.query(sql, params as unknown[]))

  async function transaction<T>(fn: (tx: Transaction) => Promise<T>): Promise<T> {
    let events: () => readonly CommittedEvent[] = () => []
    const value = await db.transaction(async (raw) => {
      const begun = pipeline.begin({
        query: async (sql, params) => toResult(await raw.query(sql, params as unknown[])),
      })
      events = begun.events
      return fn(begun.tx)
    })
    await pipeline.committed(events())
    return value
  }

  async function withTryLock<T>(key: number, fn: () => Promise<T>): Promise<LockResult<T>> {
    if (heldLocks.has(key)) return { acquired: false }
    heldLocks.add(key)
    try {
      return { acquired: true, value: await fn() }
    } finally {
      heldLocks.delete(key)
    }
  }

  async function holdLock(key: number): Promise<() => Promise<void>> {
    heldLocks.add(key)
    return async () => {
      heldLocks.delete(key)
    }
  }

  async function listen(channel: string, handlers: ListenHandlers): Promise<() => Promise<void>> {
    const unlisten = await db.listen(channel, handlers.onNotify)
    return () => unlisten()
  }

  async function notify(channel: string, payload: string): Promise<void> {
    await db.query('SELECT pg_notify($1, $2)', [channel, payload])
  }

  return {
    kind: 'pglite',
    // One session in one process: everything a session offers works, and every commit is seen here.
    topology: { mode: 'session', detectedBy: 'embedded', wakeups: 'in-process', locks: 'in-process', leaseTtlMs: 0 },
    query,
    transaction,
    onCommitted: pipeline.onCommitted,
    withTryLock,
    holdLock,
    isLocked: async (key) => heldLocks.has(key),
    listen,
    notify,
    close: () => db.close(),
  }
}

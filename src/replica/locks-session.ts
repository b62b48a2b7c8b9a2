// Locks that outlive a transaction as session advisory locks, where connections are real sessions (direct or session pooler).
import pg from 'pg'
import type { LockBackend, LockResult } from './driver.js'

const RETRY_MAX_MS = 5_000

export interface SessionLockOptions {
  /** Connections that are real sessions: a lock taken on one is held until it is unlocked there. */
  pool: pg.Pool
  /** For the dedicated liveness sessions. */
  connection: pg.ClientConfig
}

export function createSessionLocks(options: SessionLockOptions): LockBackend {
  const { pool, connection } = options
  let closed = false

  async function withTryLock<T>(key: number, fn: () => Promise<T>): Promise<LockResult<T>> {
    const client = await pool.connect()
    let broken = false
    try {
      const { rows } = await client.query('SELECT pg_try_advisory_lock($1) AS acquired', [key])
      if (!rows[0].acquired) return { acquired: false }
      try {
        return { acquired: true, value: await fn() }
      } finally {
        await client.query('SELECT pg_advisory_unlock($1)', [key]).catch(() => {
          broken = true
        })
      }
    } finally {
      // A client whose unlock failed may still hold the lock: destroy it so the session ends.
      client.release(broken)
    }
  }

  async function holdLock(key: number): Promise<() => Promise<void>> {
    // A dedicated session: the lock lives exactly as long as this process's connection does. When
    // that session is lost (Postgres restarted, connection cut), the lock is taken again as soon as
    // the database answers: until then other instances would take this one's writes for orphans.
    let client: pg.Client | null = null
    let released = false
    let retrying = false
    let attempt = 0
    const retry = () => {
      if (released || closed || retrying) return
      retrying = true
      attempt += 1
      const delay = Math.min(RETRY_MAX_MS, 100 * 2 ** attempt) * (0.5 + Math.random() / 2)
      setTimeout(() => {
        retrying = false
        take().catch(retry)
      }, delay).unref()
    }
    const take = async (): Promise<void> => {
      const next = new pg.Client({ ...connection, application_name: 'hubmirror-liveness' })
      let held = false
      next.on('error', () => undefined)
      next.on('end', () => {
        if (held && client === next) retry()
      })
      client = next
      try {
        await next.connect()
        await next.query('SELECT pg_advisory_lock($1)', [key])
      } catch (error) {
        if (client === next) client = null
        await next.end().catch(() => undefined)
        throw error
      }
      held = true
      attempt = 0
      if (released || closed) await next.end().catch(() => undefined)
    }
    await take()
    return async () => {
      released = true
      await (client as pg.Client | null)?.end().catch(() => undefined)
    }
  }

  async function isLocked(key: number): Promise<boolean> {
    return withTryLock(key, async () => undefined).then((result) => !result.acquired)
  }

  return {
    withTryLock,
    holdLock,
    isLocked,
    close() {
      closed = true
    },
  }
}

// The node-postgres backend, for Supabase or any Postgres reachable through DATABASE_URL.
import pg from 'pg'
import { createAnnouncer } from './announcer.js'
import type { ListenHandlers, LockResult, QueryResult, ReplicaDriver, Transaction } from './driver.js'

const LISTEN_RETRY_MAX_MS = 5_000

function toResult<R>(result: pg.QueryResult): QueryResult<R> {
  return { rows: result.rows as R[], rowCount: result.rowCount ?? 0 }
}

export interface PgDriverOptions {
  connectionString: string
  maxConnections?: number
  onError?: (error: Error) => void
}

export function createPgDriver(options: PgDriverOptions): ReplicaDriver {
  const connection = {
    connectionString: options.connectionString,
    // Every session speaks UTC so that timestamps serialise the same on every instance.
    options: '-c TimeZone=UTC',
    connectionTimeoutMillis: 5_000,
  }
  const pool = new pg.Pool({ ...connection, max: options.maxConnections ?? 10, idleTimeoutMillis: 30_000 })
  // An idle client dying (e.g. Postgres restarted) must not crash the process.
  pool.on('error', (error) => options.onError?.(error))
  const listeners = new Set<pg.Client>()
  const announcer = createAnnouncer()
  let closed = false

  async function query<R>(sql: string, params?: unknown[]): Promise<QueryResult<R>> {
    return toResult<R>(await pool.query(sql, params as unknown[]))
  }

  async function transaction<T>(fn: (tx: Transaction) => Promise<T>): Promise<T> {
    const client = await pool.connect()
    try {
      await client.query('BEGIN')
      const { tx, commit } = announcer.begin({
        query: async (sql, params) => toResult(await client.query(sql, params as unknown[])),
      })
      const value = await fn(tx)
      await client.query('COMMIT')
      commit()
      return value
    } catch (error) {
      await client.query('ROLLBACK').catch(() => undefined)
      throw error
    } finally {
      client.release()
    }
  }

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
      const delay = Math.min(LISTEN_RETRY_MAX_MS, 100 * 2 ** attempt) * (0.5 + Math.random() / 2)
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

  async function listen(channel: string, handlers: ListenHandlers): Promise<() => Promise<void>> {
    let client: pg.Client | null = null
    let stopped = false
    let attempt = 0

    const connect = async (isReconnect: boolean): Promise<void> => {
      if (stopped || closed) return
      // Named so that operators (and the reconnect test) can find the listening session.
      const next = new pg.Client({ ...connection, application_name: 'hubmirror-listen' })
      next.on('notification', (message) => handlers.onNotify(message.payload ?? ''))
      next.on('error', () => undefined)
      next.on('end', () => {
        listeners.delete(next)
        if (!stopped && !closed) scheduleReconnect()
      })
      try {
        await next.connect()
        await next.query(`LISTEN ${pg.escapeIdentifier(channel)}`)
        client = next
        listeners.add(next)
        attempt = 0
        if (isReconnect) handlers.onReconnect()
      } catch {
        next.removeAllListeners('end')
        await next.end().catch(() => undefined)
        scheduleReconnect()
      }
    }
    const scheduleReconnect = () => {
      attempt += 1
      const delay = Math.min(LISTEN_RETRY_MAX_MS, 100 * 2 ** attempt) * (0.5 + Math.random() / 2)
      setTimeout(() => void connect(true), delay).unref()
    }

    await connect(false)
    if (!client) throw new Error('could not LISTEN: the database is unreachable')
    return async () => {
      stopped = true
      const current = client as pg.Client | null
      if (current) {
        listeners.delete(current)
        await current.end().catch(() => undefined)
      }
    }
  }

  async function notify(channel: string, payload: string): Promise<void> {
    await pool.query('SELECT pg_notify($1, $2)', [channel, payload])
  }

  async function close(): Promise<void> {
    closed = true
    await Promise.all([...listeners].map((client) => client.end().catch(() => undefined)))
    await pool.end()
  }

  return {
    kind: 'pg',
    query,
    transaction,
    onCommitted: announcer.onCommitted,
    withTryLock,
    holdLock,
    isLocked,
    listen,
    notify,
    close,
  }
}

// The node-postgres backend, for Supabase or any Postgres reachable through DATABASE_URL (direct or pooled).
//
// Nothing here may depend on session state that a transaction pooler breaks: no startup parameters
// beyond the ones PgBouncer and Supavisor accept (time zones are handled in SQL), no named prepared
// statements (node-postgres only names a statement when asked to), settings by SET LOCAL inside the
// transaction, transaction-scoped advisory locks. What does need a session (LISTEN, locks that
// outlive a transaction) goes to DATABASE_DIRECT_URL, or to DATABASE_URL when it is a session, or
// else is done without one (a poll of the change log's head, leases).
import { setTimeout as sleep } from 'node:timers/promises'
import pg from 'pg'
import type { CommittedEvent } from '../model/records.js'
import { createCommitPipeline, type AfterCommit } from './commit.js'
import type {
  DatabaseTopology,
  ListenHandlers,
  LockBackend,
  QueryResult,
  ReplicaDriver,
  Transaction,
  TransactionOptions,
} from './driver.js'
import { createLeaseLocks } from './locks-lease.js'
import { createSessionLocks } from './locks-session.js'
import type { PoolModeFinding } from './pool-mode.js'

const LISTEN_RETRY_MAX_MS = 5_000
/** No write transaction's statement may run longer, so none holds row locks for long on a slow database. */
const WRITE_STATEMENT_TIMEOUT_MS = 15_000
/** A crashed instance's leases run out after this; holders renew every quarter of it. */
const LEASE_TTL_MS = 4_000
/**
 * Postgres aborts one transaction of a lock cycle (40P01) or of a serialization conflict (40001) and
 * expects it to be run again (PostgreSQL docs, "Serialization Failure Handling"). A transaction here
 * only talks to the database (HubSpot calls happen outside), so it is safe to re-run a few times.
 */
const RETRYABLE_TRANSACTION_CODES = new Set(['40P01', '40001'])
const TRANSACTION_ATTEMPTS = 4
/** Session connections for locks on DATABASE_DIRECT_URL: sync, counter and prune at once, plus a probe. */
const DIRECT_POOL_MAX = 4

function toResult<R>(result: pg.QueryResult): QueryResult<R> {
  return { rows: result.rows as R[], rowCount: result.rowCount ?? 0 }
}

export interface PgDriverOptions {
  connectionString: string
  /** A direct or session connection for LISTEN, session locks and migrations (DATABASE_DIRECT_URL). */
  directUrl?: string | null
  /** What connectionString is (detectPoolMode). */
  poolMode: PoolModeFinding
  maxConnections?: number
  onError?: (error: Error) => void
  /** After each COMMIT that logged events, before realtime hears of them (commit.ts). */
  afterCommit?: AfterCommit
}

export function createPgDriver(options: PgDriverOptions): ReplicaDriver {
  const connection = { connectionString: options.connectionString, connectionTimeoutMillis: 5_000 }
  const direct = options.directUrl ? { connectionString: options.directUrl, connectionTimeoutMillis: 5_000 } : null
  // Where a LISTEN or a session lock is safe: the direct URL, else DATABASE_URL when it is a session.
  const session = direct ?? (options.poolMode.mode === 'session' ? connection : null)
  const pool = new pg.Pool({ ...connection, max: options.maxConnections ?? 10, idleTimeoutMillis: 30_000 })
  // An idle client dying (e.g. Postgres restarted) must not crash the process.
  pool.on('error', (error) => options.onError?.(error))
  let directPool: pg.Pool | null = null
  const sessionPool = (): pg.Pool => {
    if (session === connection) return pool
    if (!directPool) {
      directPool = new pg.Pool({ ...direct, max: DIRECT_POOL_MAX, idleTimeoutMillis: 30_000 })
      directPool.on('error', (error) => options.onError?.(error))
    }
    return directPool
  }
  const listeners = new Set<pg.Client>()
  const pipeline = createCommitPipeline({ afterCommit: options.afterCommit, onError: options.onError })
  let closed = false

  const topology: DatabaseTopology = {
    ...options.poolMode,
    wakeups: direct ? 'listen-direct' : session ? 'listen' : 'poll',
    locks: direct ? 'session-direct' : session ? 'session' : 'lease',
    leaseTtlMs: session ? 0 : LEASE_TTL_MS,
  }

  async function query<R>(sql: string, params?: unknown[]): Promise<QueryResult<R>> {
    return toResult<R>(await pool.query(sql, params as unknown[]))
  }

  const locks: LockBackend = session
    ? createSessionLocks({ pool: sessionPool(), connection: session })
    : createLeaseLocks({ db: { query }, ttlMs: LEASE_TTL_MS, onError: options.onError })

  async function transactionOnce<T>(
    fn: (tx: Transaction) => Promise<T>,
    txOptions: TransactionOptions,
  ): Promise<{ value: T; events: readonly CommittedEvent[] }> {
    const client = await (txOptions.schema && direct ? sessionPool() : pool).connect()
    try {
      // One round trip; SET LOCAL ends with the transaction, so a pooler's next client never sees it.
      await client.query(
        txOptions.schema ? 'BEGIN' : `BEGIN; SET LOCAL statement_timeout = ${WRITE_STATEMENT_TIMEOUT_MS}`,
      )
      const { tx, events } = pipeline.begin({
        query: async (sql, params) => toResult(await client.query(sql, params as unknown[])),
      })
      const value = await fn(tx)
      await client.query('COMMIT')
      return { value, events: events() }
    } catch (error) {
      await client.query('ROLLBACK').catch(() => undefined)
      throw error
    } finally {
      client.release()
    }
  }

  async function transaction<T>(fn: (tx: Transaction) => Promise<T>, txOptions: TransactionOptions = {}): Promise<T> {
    for (let attempt = 1; ; attempt++) {
      let committed: { value: T; events: readonly CommittedEvent[] }
      try {
        committed = await transactionOnce(fn, txOptions)
      } catch (error) {
        const code = (error as { code?: string }).code
        if (attempt >= TRANSACTION_ATTEMPTS || !code || !RETRYABLE_TRANSACTION_CODES.has(code)) throw error
        // Jittered, so that the transactions of one cycle do not meet again in the same order.
        await sleep(Math.random() * 20 * attempt)
        continue
      }
      // With the connection back in the pool: the hook (a Redis round trip) holds no database session.
      await pipeline.committed(committed.events)
      return committed.value
    }
  }

  async function listen(channel: string, handlers: ListenHandlers): Promise<() => Promise<void>> {
    if (!session)
      throw new Error('LISTEN needs a session: DATABASE_URL is a transaction pooler and DATABASE_DIRECT_URL is unset')
    const listenConnection = session
    let client: pg.Client | null = null
    let stopped = false
    let attempt = 0

    const connect = async (isReconnect: boolean): Promise<void> => {
      if (stopped || closed) return
      // Named so that operators (and the reconnect test) can find the listening session.
      const next = new pg.Client({ ...listenConnection, application_name: 'hubmirror-listen' })
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
    // NOTIFY is an ordinary statement: it works through a transaction pooler too.
    await pool.query('SELECT pg_notify($1, $2)', [channel, payload])
  }

  async function close(): Promise<void> {
    closed = true
    locks.close()
    await Promise.all([...listeners].map((client) => client.end().catch(() => undefined)))
    await Promise.all([pool.end(), (directPool as pg.Pool | null)?.end()])
  }

  return {
    kind: 'pg',
    topology,
    query,
    transaction,
    onCommitted: pipeline.onCommitted,
    withTryLock: locks.withTryLock,
    holdLock: locks.holdLock,
    isLocked: locks.isLocked,
    listen,
    notify,
    close,
  }
}

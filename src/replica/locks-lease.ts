// Locks that outlive a transaction as rows of hubmirror.leases, for transaction poolers (no real session to hold them).
//
// A lease (one row per lock name)
//
//   free / expired ──acquire (INSERT … ON CONFLICT … WHERE expired)──► held by H until now()+ttl
//        ▲                                                               │ renew every ttl/4
//        │                                                               │ (UPDATE … WHERE holder = H)
//        ├──────────── release (DELETE … WHERE holder = H) ◄─────────────┤
//        └──────────── holder dies: nobody renews; expires_at passes ◄───┘
//
// Every time is the database's now(), so instances' clocks never have to agree.
import { randomUUID } from 'node:crypto'
import type { LockBackend, LockResult, Queryable } from './driver.js'
import { lockLabel } from './locks.js'

export interface LeaseLockOptions {
  db: Queryable
  /** How long a lease lasts without renewal: how long a crashed holder still looks alive. */
  ttlMs: number
  onError?: (error: Error) => void
}

const RETRY_MS = 250

export function createLeaseLocks(options: LeaseLockOptions): LockBackend {
  const { db, ttlMs } = options
  const renewEveryMs = Math.max(50, Math.floor(ttlMs / 4))
  const timers = new Set<NodeJS.Timeout>()
  let closed = false

  async function acquire(name: string, holder: string): Promise<boolean> {
    const { rowCount } = await db.query(
      `INSERT INTO hubmirror.leases AS l (name, holder, expires_at, renewed_at)
       VALUES ($1, $2, now() + $3::int * interval '1 millisecond', now())
       ON CONFLICT (name) DO UPDATE
         SET holder = EXCLUDED.holder, expires_at = EXCLUDED.expires_at, renewed_at = EXCLUDED.renewed_at
       WHERE l.expires_at < now()
       RETURNING l.holder`,
      [name, holder, ttlMs],
    )
    return rowCount === 1
  }

  /** false: the lease was lost (it expired and someone else took it, or it was deleted). */
  async function renew(name: string, holder: string): Promise<boolean> {
    const { rowCount } = await db.query(
      `UPDATE hubmirror.leases SET expires_at = now() + $3::int * interval '1 millisecond', renewed_at = now()
        WHERE name = $1 AND holder = $2`,
      [name, holder, ttlMs],
    )
    return rowCount === 1
  }

  async function release(name: string, holder: string): Promise<void> {
    await db.query('DELETE FROM hubmirror.leases WHERE name = $1 AND holder = $2', [name, holder])
  }

  /** Renews until stopped; onLost runs when a renewal finds the lease gone. */
  function keepRenewed(name: string, holder: string, onLost: () => void): () => void {
    let stopped = false
    let timer: NodeJS.Timeout
    const schedule = (ms: number) => {
      if (stopped || closed) return
      timer = setTimeout(tick, ms)
      timer.unref()
      timers.add(timer)
    }
    const tick = () => {
      timers.delete(timer)
      renew(name, holder).then(
        (held) => {
          if (stopped) return
          if (held) schedule(renewEveryMs)
          else onLost()
        },
        (error) => {
          // The database is unreachable: keep trying; the lease is kept if it answers in time.
          options.onError?.(error as Error)
          schedule(RETRY_MS)
        },
      )
    }
    schedule(renewEveryMs)
    return () => {
      stopped = true
      clearTimeout(timer)
      timers.delete(timer)
    }
  }

  async function withTryLock<T>(key: number, fn: () => Promise<T>): Promise<LockResult<T>> {
    const name = lockLabel(key)
    const holder = randomUUID()
    if (!(await acquire(name, holder))) return { acquired: false }
    const stop = keepRenewed(name, holder, () =>
      options.onError?.(new Error(`lease "${name}" was lost while held (the database was unreachable for too long)`)),
    )
    try {
      return { acquired: true, value: await fn() }
    } finally {
      stop()
      // Not released (database down): it runs out by itself within ttlMs.
      await release(name, holder).catch(() => undefined)
    }
  }

  async function holdLock(key: number): Promise<() => Promise<void>> {
    const name = lockLabel(key)
    const holder = randomUUID()
    let released = false
    let stop = () => {}
    // Leases of instances long gone would otherwise pile up, one row per start.
    await db.query(`DELETE FROM hubmirror.leases WHERE expires_at < now() - interval '1 hour'`)
    const take = async (): Promise<void> => {
      while (!(await acquire(name, holder))) {
        if (released || closed) return
        await new Promise((resolve) => setTimeout(resolve, RETRY_MS))
      }
      stop = keepRenewed(name, holder, () => {
        // Lost (the database was away longer than the lease): take it again as soon as it answers.
        if (!released && !closed) take().catch(() => setTimeout(() => void take().catch(() => undefined), RETRY_MS))
      })
    }
    await take()
    return async () => {
      released = true
      stop()
      await release(name, holder).catch(() => undefined)
    }
  }

  async function isLocked(key: number): Promise<boolean> {
    const { rows } = await db.query<{ held: boolean }>(
      'SELECT EXISTS (SELECT 1 FROM hubmirror.leases WHERE name = $1 AND expires_at > now()) AS held',
      [lockLabel(key)],
    )
    return rows[0].held
  }

  return {
    withTryLock,
    holdLock,
    isLocked,
    close() {
      closed = true
      for (const timer of timers) clearTimeout(timer)
      timers.clear()
    },
  }
}

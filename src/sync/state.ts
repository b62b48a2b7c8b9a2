// Sync state kept in Postgres (sync_state per object type, hubmirror_state key/values), shared by every instance.
import type { Queryable } from '../replica/index.js'
import type { BackfillPlan } from './backfill-plan.js'
import type { SyncType } from './types.js'

export interface LastPull {
  ms: number
  /** The pull's upper bound: the replica reflects HubSpot up to here (less search lag). */
  upper_ms: number
  reason: string
  fetched: number
  changed: number
  deleted: number
}

export interface TypeState {
  type: SyncType
  cursorMs: number | null
  archivedCursorMs: number | null
  backfill: BackfillPlan | null
  lastPullStartedAt: string | null
  lastPullFinishedAt: string | null
  lastPullOkAt: string | null
  lastPull: LastPull | null
  lastError: string | null
}

interface Row {
  object_type: SyncType
  cursor_ms: string | null
  archived_cursor_ms: string | null
  backfill: BackfillPlan | null
  last_pull_started_at: string | null
  last_pull_finished_at: string | null
  last_pull_ok_at: string | null
  last_pull_result: LastPull | null
  last_error: string | null
}

const num = (value: string | null): number | null => (value === null ? null : Number(value))
const iso = `'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'`

export async function readStates(db: Queryable): Promise<Map<SyncType, TypeState>> {
  const { rows } = await db.query<Row>(
    `SELECT object_type, cursor_ms::text, archived_cursor_ms::text, backfill,
            to_char(last_pull_started_at AT TIME ZONE 'UTC', ${iso}) AS last_pull_started_at,
            to_char(last_pull_finished_at AT TIME ZONE 'UTC', ${iso}) AS last_pull_finished_at,
            to_char(last_pull_ok_at AT TIME ZONE 'UTC', ${iso}) AS last_pull_ok_at,
            last_pull_result, last_error
       FROM hubmirror.sync_state WHERE object_type IN ('exams', 'bookings')`,
  )
  const states = new Map<SyncType, TypeState>()
  for (const type of ['exams', 'bookings'] as const) {
    const row = rows.find((r) => r.object_type === type)
    states.set(type, {
      type,
      cursorMs: num(row?.cursor_ms ?? null),
      archivedCursorMs: num(row?.archived_cursor_ms ?? null),
      backfill: row?.backfill ?? null,
      lastPullStartedAt: row?.last_pull_started_at ?? null,
      lastPullFinishedAt: row?.last_pull_finished_at ?? null,
      lastPullOkAt: row?.last_pull_ok_at ?? null,
      lastPull: row?.last_pull_result ?? null,
      lastError: row?.last_error ?? null,
    })
  }
  return states
}

export async function readState(db: Queryable, type: SyncType): Promise<TypeState> {
  return (await readStates(db)).get(type)!
}

/** The oldest upper bound among the last successful pulls: how fresh the whole replica is. */
export async function replicaFreshAt(db: Queryable): Promise<number | null> {
  const { rows } = await db.query<{ fresh: string | null; n: string }>(
    `SELECT min((last_pull_result->>'upper_ms')::bigint)::text AS fresh, count(last_pull_result)::text AS n
       FROM hubmirror.sync_state WHERE object_type IN ('exams', 'bookings')`,
  )
  return rows[0] && Number(rows[0].n) === 2 && rows[0].fresh !== null ? Number(rows[0].fresh) : null
}

async function ensureRow(db: Queryable, type: SyncType): Promise<void> {
  await db.query('INSERT INTO hubmirror.sync_state (object_type) VALUES ($1) ON CONFLICT (object_type) DO NOTHING', [
    type,
  ])
}

export async function recordPullStart(db: Queryable, type: SyncType): Promise<void> {
  await ensureRow(db, type)
  await db.query(
    'UPDATE hubmirror.sync_state SET last_pull_started_at = now(), updated_at = now() WHERE object_type = $1',
    [type],
  )
}

/** Cursors only move forward: a slower pull finishing late cannot drag them back. */
export async function recordPullOk(
  db: Queryable,
  type: SyncType,
  cursorMs: number | null,
  archivedCursorMs: number | null,
  result: LastPull,
): Promise<void> {
  await db.query(
    `UPDATE hubmirror.sync_state
        SET cursor_ms = CASE WHEN $2::bigint IS NULL THEN cursor_ms ELSE GREATEST(coalesce(cursor_ms, $2::bigint), $2::bigint) END,
            archived_cursor_ms = CASE WHEN $3::bigint IS NULL THEN archived_cursor_ms
                                      ELSE GREATEST(coalesce(archived_cursor_ms, $3::bigint), $3::bigint) END,
            last_pull_finished_at = now(), last_pull_ok_at = now(), last_pull_result = $4::jsonb, last_error = NULL, updated_at = now()
      WHERE object_type = $1`,
    [type, cursorMs, archivedCursorMs, JSON.stringify(result)],
  )
}

export async function recordPullError(db: Queryable, type: SyncType, error: unknown): Promise<void> {
  const message = String((error as Error)?.message ?? error).slice(0, 2000)
  await db.query(
    'UPDATE hubmirror.sync_state SET last_pull_finished_at = now(), last_error = $2, updated_at = now() WHERE object_type = $1',
    [type, message],
  )
}

export async function saveBackfillPlan(db: Queryable, type: SyncType, plan: BackfillPlan | null): Promise<void> {
  await ensureRow(db, type)
  await db.query('UPDATE hubmirror.sync_state SET backfill = $2::jsonb, updated_at = now() WHERE object_type = $1', [
    type,
    plan === null ? null : JSON.stringify(plan),
  ])
}

/** Forgets the cursors too: the next pull of this type starts from a backfill. */
export async function resetType(db: Queryable, type: SyncType): Promise<void> {
  await ensureRow(db, type)
  await db.query(
    'UPDATE hubmirror.sync_state SET cursor_ms = NULL, archived_cursor_ms = NULL, backfill = NULL, updated_at = now() WHERE object_type = $1',
    [type],
  )
}

/** Sets the cursors a finished backfill earned (not GREATEST: a restarted backfill may move them back, on purpose). */
export async function completeBackfill(
  db: Queryable,
  type: SyncType,
  plan: BackfillPlan,
  cursorMs: number,
  archivedCursorMs: number,
): Promise<void> {
  await db.query(
    `UPDATE hubmirror.sync_state SET cursor_ms = $2, archived_cursor_ms = $3, backfill = $4::jsonb, updated_at = now() WHERE object_type = $1`,
    [type, cursorMs, archivedCursorMs, JSON.stringify(plan)],
  )
}

export async function readKv<T>(db: Queryable, key: string): Promise<T | null> {
  const { rows } = await db.query<{ value: T }>('SELECT value FROM hubmirror.hubmirror_state WHERE key = $1', [key])
  return rows[0]?.value ?? null
}

export async function writeKv(db: Queryable, key: string, value: unknown): Promise<void> {
  await db.query(
    `INSERT INTO hubmirror.hubmirror_state (key, value, updated_at) VALUES ($1, $2::jsonb, now())
     ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value, updated_at = now()`,
    [key, JSON.stringify(value)],
  )
}

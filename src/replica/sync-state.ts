// Sync state kept in Postgres (sync_state per object type, hubmirror_state key/values), shared by every instance.
import type { SyncType } from '../model/records.js'
import type { Queryable } from './driver.js'
import { KV_TABLE, SYNC_STATE_TABLE } from './schema.js'

export interface LastPull {
  ms: number
  /** The pull's upper bound: the replica reflects HubSpot up to here (less search lag). */
  upper_ms: number
  reason: string
  fetched: number
  changed: number
  deleted: number
}

/** One type's row; Plan is the sync engine's backfill checkpoint, stored as opaque JSON here. */
export interface TypeState<Plan = unknown> {
  type: SyncType
  cursorMs: number | null
  archivedCursorMs: number | null
  backfill: Plan | null
  lastPullStartedAt: string | null
  lastPullFinishedAt: string | null
  lastPullOkAt: string | null
  lastPull: LastPull | null
  lastError: string | null
}

interface Row<Plan> {
  object_type: SyncType
  cursor_ms: string | null
  archived_cursor_ms: string | null
  backfill: Plan | null
  last_pull_started_at: string | null
  last_pull_finished_at: string | null
  last_pull_ok_at: string | null
  last_pull_result: LastPull | null
  last_error: string | null
}

const num = (value: string | null): number | null => (value === null ? null : Number(value))
const iso = `'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'`

export async function readSyncStates<Plan = unknown>(db: Queryable): Promise<Map<SyncType, TypeState<Plan>>> {
  const { rows } = await db.query<Row<Plan>>(
    `SELECT object_type, cursor_ms::text, archived_cursor_ms::text, backfill,
            to_char(last_pull_started_at AT TIME ZONE 'UTC', ${iso}) AS last_pull_started_at,
            to_char(last_pull_finished_at AT TIME ZONE 'UTC', ${iso}) AS last_pull_finished_at,
            to_char(last_pull_ok_at AT TIME ZONE 'UTC', ${iso}) AS last_pull_ok_at,
            last_pull_result, last_error
       FROM ${SYNC_STATE_TABLE} WHERE object_type IN ('exams', 'bookings')`,
  )
  const states = new Map<SyncType, TypeState<Plan>>()
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

export async function readSyncState<Plan = unknown>(db: Queryable, type: SyncType): Promise<TypeState<Plan>> {
  return (await readSyncStates<Plan>(db)).get(type)!
}

/** The oldest upper bound among the last successful pulls: how fresh the whole replica is. */
export async function replicaFreshAt(db: Queryable): Promise<number | null> {
  const { rows } = await db.query<{ fresh: string | null; n: string }>(
    `SELECT min((last_pull_result->>'upper_ms')::bigint)::text AS fresh, count(last_pull_result)::text AS n
       FROM ${SYNC_STATE_TABLE} WHERE object_type IN ('exams', 'bookings')`,
  )
  return rows[0] && Number(rows[0].n) === 2 && rows[0].fresh !== null ? Number(rows[0].fresh) : null
}

async function ensureRow(db: Queryable, type: SyncType): Promise<void> {
  await db.query(`INSERT INTO ${SYNC_STATE_TABLE} (object_type) VALUES ($1) ON CONFLICT (object_type) DO NOTHING`, [
    type,
  ])
}

/**
 * Sets columns of one type's row (where `create`, making it if it is not there yet); `set` refers
 * to params from $2 on. The row is there for every pull but a type's first: one statement then.
 */
async function updateRow(db: Queryable, type: SyncType, set: string, params: unknown[] = [], create = false) {
  const update = () =>
    db.query(`UPDATE ${SYNC_STATE_TABLE} SET ${set}, updated_at = now() WHERE object_type = $1`, [type, ...params])
  if ((await update()).rowCount > 0 || !create) return
  await ensureRow(db, type)
  await update()
}

export async function recordPullStart(db: Queryable, type: SyncType): Promise<void> {
  await updateRow(db, type, 'last_pull_started_at = now()', [], true)
}

/** Cursors only move forward: a slower pull finishing late cannot drag them back. */
export async function recordPullOk(
  db: Queryable,
  type: SyncType,
  cursorMs: number | null,
  archivedCursorMs: number | null,
  result: LastPull,
): Promise<void> {
  await updateRow(
    db,
    type,
    `cursor_ms = CASE WHEN $2::bigint IS NULL THEN cursor_ms ELSE GREATEST(coalesce(cursor_ms, $2::bigint), $2::bigint) END,
     archived_cursor_ms = CASE WHEN $3::bigint IS NULL THEN archived_cursor_ms
                               ELSE GREATEST(coalesce(archived_cursor_ms, $3::bigint), $3::bigint) END,
     last_pull_finished_at = now(), last_pull_ok_at = now(), last_pull_result = $4::jsonb, last_error = NULL`,
    [cursorMs, archivedCursorMs, JSON.stringify(result)],
  )
}

export async function recordPullError(db: Queryable, type: SyncType, error: unknown): Promise<void> {
  const message = String((error as Error)?.message ?? error).slice(0, 2000)
  await updateRow(db, type, 'last_pull_finished_at = now(), last_error = $2', [message])
}

/**
 * One statement: the backfill's writers save their checkpoint while holding the change log's append
 * lock (replica/change-log.ts), so every round trip here is one all of them wait for.
 */
export async function saveBackfillPlan(db: Queryable, type: SyncType, plan: object | null): Promise<void> {
  await db.query(
    `INSERT INTO ${SYNC_STATE_TABLE} (object_type, backfill) VALUES ($1, $2::jsonb)
     ON CONFLICT (object_type) DO UPDATE SET backfill = EXCLUDED.backfill, updated_at = now()`,
    [type, plan === null ? null : JSON.stringify(plan)],
  )
}

/** Forgets the cursors too: the next pull of this type starts from a backfill. */
export async function resetSyncState(db: Queryable, type: SyncType): Promise<void> {
  await updateRow(db, type, 'cursor_ms = NULL, archived_cursor_ms = NULL, backfill = NULL', [], true)
}

/** Sets the cursors a finished backfill earned (not GREATEST: a restarted backfill may move them back, on purpose). */
export async function completeBackfill(
  db: Queryable,
  type: SyncType,
  plan: object,
  cursorMs: number,
  archivedCursorMs: number,
): Promise<void> {
  await updateRow(db, type, 'cursor_ms = $2, archived_cursor_ms = $3, backfill = $4::jsonb', [
    cursorMs,
    archivedCursorMs,
    JSON.stringify(plan),
  ])
}

export async function readStateValue<T>(db: Queryable, key: string): Promise<T | null> {
  const { rows } = await db.query<{ value: T }>(`SELECT value FROM ${KV_TABLE} WHERE key = $1`, [key])
  return rows[0]?.value ?? null
}

export async function writeStateValue(db: Queryable, key: string, value: unknown): Promise<void> {
  await db.query(
    `INSERT INTO ${KV_TABLE} (key, value, updated_at) VALUES ($1, $2::jsonb, now())
     ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value, updated_at = now()`,
    [key, JSON.stringify(value)],
  )
}

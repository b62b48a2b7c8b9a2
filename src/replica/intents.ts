// The write-intent journal's SQL: recorded before a HubSpot call, resolved after it, or by recovery after a crash.
import { randomUUID } from 'node:crypto'
import type { Queryable } from './driver.js'

export type IntentKind =
  'booking.create' | 'booking.cancel' | 'booking.attendance' | 'exam.create' | 'exam.update' | 'exam.archive'

export interface Intent {
  id: string
  kind: IntentKind
  idempotency_key: string | null
  exam_id: string | null
  target_id: string | null
  payload: Record<string, unknown>
  owner_key: number | null
  created_at: string
}

export interface NewIntent {
  kind: IntentKind
  idempotencyKey?: string | null
  examId?: string | null
  targetId?: string | null
  payload: Record<string, unknown>
  ownerKey: number
}

/**
 * Journals intents in one statement, returning the new ids in input order; null where an intent
 * of the same kind and key is already pending (the key expires with its intent: a done or failed
 * intent no longer blocks the same write). ON CONFLICT DO NOTHING instead of catching the unique
 * violation: a caught error would still abort the caller's transaction.
 */
export async function insertIntents(tx: Queryable, intents: readonly NewIntent[]): Promise<Array<string | null>> {
  if (intents.length === 0) return []
  // Ids chosen here, so that RETURNING says which rows went in without matching rows back by key.
  const rows = intents.map((intent) => ({
    id: randomUUID(),
    kind: intent.kind,
    idempotency_key: intent.idempotencyKey ?? null,
    exam_id: intent.examId ?? null,
    target_id: intent.targetId ?? null,
    payload: intent.payload,
    owner_key: intent.ownerKey,
  }))
  const { rows: inserted } = await tx.query<{ id: string }>(
    `INSERT INTO hubmirror.write_intents (id, kind, idempotency_key, exam_id, target_id, payload, owner_key)
     SELECT id, kind, idempotency_key, exam_id, target_id, payload, owner_key
       FROM jsonb_to_recordset($1::jsonb)
         AS r(id uuid, kind text, idempotency_key text, exam_id text, target_id text, payload jsonb, owner_key int)
     ON CONFLICT DO NOTHING
     RETURNING id::text`,
    [JSON.stringify(rows)],
  )
  const ids = new Set(inserted.map((row) => row.id))
  return rows.map((row) => (ids.has(row.id) ? row.id : null))
}

/** One intent; null when the same write (kind and key) is already pending. */
export async function insertIntent(tx: Queryable, intent: NewIntent): Promise<string | null> {
  const [id] = await insertIntents(tx, [intent])
  return id
}

export async function completeIntents(tx: Queryable, ids: readonly string[], result: unknown = null): Promise<void> {
  if (ids.length === 0) return
  await tx.query(
    `UPDATE hubmirror.write_intents SET status = 'done', result = $2, resolved_at = now(), attempts = attempts + 1 WHERE id = ANY($1::uuid[])`,
    [ids, JSON.stringify(result)],
  )
}

/** A failed intent's key is free again at once (the unique index covers pending intents only). */
export async function failIntents(db: Queryable, ids: readonly string[], error: string): Promise<void> {
  if (ids.length === 0) return
  await db.query(
    `UPDATE hubmirror.write_intents
        SET status = 'failed', error = $2, resolved_at = now(), attempts = attempts + 1
      WHERE id = ANY($1::uuid[]) AND status = 'pending'`,
    [ids, error.slice(0, 500)],
  )
}

export async function pendingIntents(db: Queryable, exceptOwner: number): Promise<Intent[]> {
  const { rows } = await db.query<Intent>(
    `SELECT id::text, kind, idempotency_key, exam_id, target_id, payload, owner_key,
            to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') AS created_at
       FROM hubmirror.write_intents
      WHERE status = 'pending' AND (owner_key IS NULL OR owner_key <> $1)
      ORDER BY created_at LIMIT 500`,
    [exceptOwner],
  )
  return rows
}

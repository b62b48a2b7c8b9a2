// The write-intent journal: recorded before a HubSpot call, resolved after it, or by recovery after a crash.
import type { Queryable } from '../replica/index.js'

export type IntentKind = 'booking.create' | 'booking.cancel' | 'exam.create' | 'exam.update' | 'exam.archive'

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

const UNIQUE_VIOLATION = '23505'

/** Returns null when an intent with the same kind and idempotency key is already pending or done. */
export async function insertIntent(tx: Queryable, intent: NewIntent): Promise<string | null> {
  try {
    const { rows } = await tx.query<{ id: string }>(
      `INSERT INTO hubmirror.write_intents (kind, idempotency_key, exam_id, target_id, payload, owner_key)
       VALUES ($1, $2, $3, $4, $5, $6) RETURNING id::text`,
      [
        intent.kind,
        intent.idempotencyKey ?? null,
        intent.examId ?? null,
        intent.targetId ?? null,
        JSON.stringify(intent.payload),
        intent.ownerKey,
      ],
    )
    return rows[0].id
  } catch (error) {
    if ((error as { code?: string }).code === UNIQUE_VIOLATION) return null
    throw error
  }
}

export async function completeIntents(tx: Queryable, ids: readonly string[], result: unknown = null): Promise<void> {
  if (ids.length === 0) return
  await tx.query(
    `UPDATE hubmirror.write_intents SET status = 'done', result = $2, resolved_at = now(), attempts = attempts + 1 WHERE id = ANY($1::uuid[])`,
    [ids, JSON.stringify(result)],
  )
}

/**
 * A failed intent frees its idempotency key (so the same request may be retried) by moving the
 * key aside; the row stays as a record of the failure.
 */
export async function failIntents(db: Queryable, ids: readonly string[], error: string): Promise<void> {
  if (ids.length === 0) return
  await db.query(
    `UPDATE hubmirror.write_intents
        SET status = 'failed', error = $2, resolved_at = now(), attempts = attempts + 1,
            idempotency_key = CASE WHEN idempotency_key IS NULL THEN NULL ELSE idempotency_key || ':failed:' || id::text END
      WHERE id = ANY($1::uuid[]) AND status = 'pending'`,
    [ids, error.slice(0, 500)],
  )
}

export async function pendingIntents(db: Queryable, exceptOwner: number): Promise<Intent[]> {
  const { rows } = await db.query<Intent>(
    `SELECT id::text, kind, idempotency_key, exam_id, target_id, payload, owner_key, created_at::text
       FROM hubmirror.write_intents
      WHERE status = 'pending' AND (owner_key IS NULL OR owner_key <> $1)
      ORDER BY created_at LIMIT 500`,
    [exceptOwner],
  )
  return rows
}

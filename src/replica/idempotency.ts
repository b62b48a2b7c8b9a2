// The idempotency keys' SQL: each key bound to one request (a hash of it), for at least IDEMPOTENCY_KEY_TTL.
import type { Queryable } from './driver.js'

/** How long a key is remembered with its request and first answer (Stripe keeps keys 24 h). */
export const IDEMPOTENCY_KEY_TTL_HOURS = 24

export interface StoredKey {
  request_hash: string
  /** The first answer, once the write it started has committed. */
  response: Record<string, unknown> | null
  /** The state of the write the key started: pending (in flight), done, or failed (the key is free). */
  intent_status: 'pending' | 'done' | 'failed' | null
}

/** The live (unexpired) key, with the state of its write. */
export async function readKey(tx: Queryable, scope: string, key: string): Promise<StoredKey | null> {
  const { rows } = await tx.query<StoredKey>(
    `SELECT k.request_hash, k.response, i.status AS intent_status
       FROM hubmirror.idempotency_keys k LEFT JOIN hubmirror.write_intents i ON i.id = k.intent_id
      WHERE k.scope = $1 AND k.key = $2 AND k.expires_at > now()`,
    [scope, key],
  )
  return rows[0] ?? null
}

/**
 * Binds the key to this request and its intent. Returns false when another request holds it
 * (claimed meanwhile by a transaction that committed first): the caller reads it again. An
 * expired key, or one whose write failed, is taken over.
 */
export async function claimKey(
  tx: Queryable,
  claim: { scope: string; key: string; requestHash: string; intentId: string },
): Promise<boolean> {
  const { rows } = await tx.query(
    `INSERT INTO hubmirror.idempotency_keys AS k (scope, key, request_hash, intent_id, expires_at)
     VALUES ($1, $2, $3, $4, now() + make_interval(hours => $5))
     ON CONFLICT (scope, key) DO UPDATE
        SET request_hash = EXCLUDED.request_hash, intent_id = EXCLUDED.intent_id, response = NULL,
            created_at = now(), expires_at = EXCLUDED.expires_at
      WHERE k.expires_at <= now()
         OR NOT EXISTS (SELECT 1 FROM hubmirror.write_intents i WHERE i.id = k.intent_id AND i.status <> 'failed')
     RETURNING 1`,
    [claim.scope, claim.key, claim.requestHash, claim.intentId, IDEMPOTENCY_KEY_TTL_HOURS],
  )
  return rows.length === 1
}

/** Records the first answer, in the transaction that commits the write. */
export async function answerKey(tx: Queryable, scope: string, key: string, response: unknown): Promise<void> {
  await tx.query(`UPDATE hubmirror.idempotency_keys SET response = $3 WHERE scope = $1 AND key = $2`, [
    scope,
    key,
    JSON.stringify(response),
  ])
}

/** Deletes up to `limit` expired keys; bounded, so it can run beside live traffic. */
export async function pruneKeys(db: Queryable, limit = 1_000): Promise<number> {
  const { rowCount } = await db.query(
    `DELETE FROM hubmirror.idempotency_keys
      WHERE (scope, key) IN (SELECT scope, key FROM hubmirror.idempotency_keys WHERE expires_at <= now() LIMIT $1)`,
    [limit],
  )
  return rowCount
}

// No replica table keeps two indexes of the same definition: every row written would maintain both. Real Postgres with DATABASE_URL, else PGlite.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { ReplicaDriver } from '../../src/replica/index.js'
import { openMigratedReplica } from '../support/scratch-replica.js'

/** Groups of indexes on one table with the same method, columns, expressions, opclasses and predicate. */
async function duplicateIndexes(db: ReplicaDriver): Promise<string[]> {
  const { rows } = await db.query<{ names: string }>(
    `SELECT string_agg(c.relname, ' = ' ORDER BY c.relname) AS names
       FROM pg_index i
       JOIN pg_class c ON c.oid = i.indexrelid
       JOIN pg_class t ON t.oid = i.indrelid
       JOIN pg_namespace n ON n.oid = t.relnamespace
      WHERE n.nspname IN ('public', 'hubmirror')
      GROUP BY i.indrelid, c.relam, i.indkey::text, i.indclass::text, i.indoption::text,
               coalesce(pg_get_expr(i.indexprs, i.indrelid), ''), coalesce(pg_get_expr(i.indpred, i.indrelid), '')
     HAVING count(*) > 1`,
  )
  return rows.map((row) => row.names)
}

describe('replica indexes', () => {
  let replica: Awaited<ReturnType<typeof openMigratedReplica>>
  let db: ReplicaDriver

  beforeAll(async () => {
    replica = await openMigratedReplica()
    db = replica.db
  }, 60_000)

  afterAll(async () => {
    await replica?.close()
  })

  it('are never two of one definition after the migrations', async () => {
    expect(await duplicateIndexes(db)).toEqual([])
  })

  it('would show one: the seed schema’s plain hubspot_id index beside the UNIQUE constraint', async () => {
    await db.query('CREATE INDEX idx_bookings_hubspot_id ON public.hubspot_bookings(hubspot_id)')
    try {
      expect(await duplicateIndexes(db)).toEqual(['hubspot_bookings_hubspot_id_key = idx_bookings_hubspot_id'])
    } finally {
      await db.query('DROP INDEX public.idx_bookings_hubspot_id')
    }
  })
})

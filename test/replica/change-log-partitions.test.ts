// The change log in seq-range partitions: a prune drops old partitions whole, deletes rows only where its boundary falls, waits on no writer, and appends never lack a partition.
import pg from 'pg'
import { describe, expect, it } from 'vitest'
import {
  appendEvents,
  ensureEventPartitions,
  eventLogLayout,
  EVENT_PARTITION_SEQS,
  headSeq,
  keepEventPartitionsAhead,
  prunedThrough,
  pruneEvents,
  readEvents,
  type NewEvent,
  type ReplicaDriver,
} from '../../src/replica/index.js'
import { realPostgres } from '../support/env.js'
import { countingStatements, withQuery } from '../support/query-spy.js'
import { replicaPerTest } from '../support/scratch-replica.js'
import { within } from '../support/wait.js'

const WEEK_MS = 7 * 86_400_000

/** `n` events through the log's own insert (seqs from its sequence, routed to their partitions). */
async function fill(db: ReplicaDriver, n: number): Promise<void> {
  await db.query(
    `INSERT INTO hubmirror.replica_events (kind, op, hubspot_id, exam_id, source, row_data)
     SELECT 'booking', 'upsert', 'b' || n, 'e1', 'sync', jsonb_build_object('n', n) FROM generate_series(1, $1::int) AS n`,
    [n],
  )
}

async function age(db: ReplicaDriver, through: number): Promise<void> {
  await db.query(`UPDATE hubmirror.replica_events SET created_at = now() - interval '30 days' WHERE seq <= $1`, [
    through,
  ])
}

async function count(db: ReplicaDriver, table: string): Promise<number> {
  return Number((await db.query<{ n: string }>(`SELECT count(*)::text AS n FROM ${table}`)).rows[0].n)
}

/** The driver, with the rows each DELETE outside a transaction removed added up. */
function countingDeletes(db: ReplicaDriver): { db: ReplicaDriver; deleted: () => number } {
  let deleted = 0
  const counting = withQuery(db, async (sql, params) => {
    const result = await db.query(sql, params)
    if (sql.startsWith('DELETE')) deleted += result.rowCount
    return result as never
  })
  return { db: counting, deleted: () => deleted }
}

const oneEvent = (id: string): NewEvent => ({
  kind: 'booking',
  op: 'upsert',
  hubspot_id: id,
  exam_id: 'e1',
  changes: {},
  origin: { kind: 'hubspot' },
  row: { hubspot_id: id },
})

describe('change log partitions', () => {
  const db = replicaPerTest()

  it('prunes by dropping whole partitions, deleting rows only in the one its boundary falls in', async () => {
    await ensureEventPartitions(db(), { size: 50, through: 600n })
    await fill(db(), 520)
    await age(db(), 430)
    const counting = countingDeletes(db())

    const dropped = await pruneEvents(counting.db, WEEK_MS, 1, 7)

    expect(dropped).toBe(430)
    expect(await prunedThrough(db())).toBe('430')
    // Seqs 1-400 were in whole partitions, dropped; only 401-430 shared theirs with newer events.
    expect(counting.deleted()).toBe(30)
    const { ranges } = await eventLogLayout(db())
    expect(ranges[0]).toMatchObject({ from: 401n, to: 451n })
    expect((await readEvents(db(), { after: '0', limit: 1000 })).map((event) => Number(event.seq))).toEqual(
      Array.from({ length: 90 }, (_, i) => 431 + i),
    )
    // The log's sequence lives on with the log, not with the partition it was first made for.
    const [appended] = await db().transaction((tx) => appendEvents(tx, 'sync', [oneEvent('after-prune')]))
    expect(appended.seq).toBe('521')
    expect(await pruneEvents(db(), WEEK_MS, 1, 7)).toBe(0)
  })

  it('takes events past every partition in the default one, makes new partitions above them, and prunes them there', async () => {
    await ensureEventPartitions(db(), { size: 50 })
    const before = await eventLogLayout(db())
    const top = before.ranges.at(-1)!.to
    await fill(db(), Number(top) + 24)
    expect(await count(db(), 'hubmirror.replica_events_default')).toBe(25)

    const made = await ensureEventPartitions(db(), { size: 50 })
    const after = await eventLogLayout(db())
    expect(after.ranges.at(-1)!.to).toBe(made)
    // The first new range starts past the events the default partition took.
    expect(after.ranges.find((range) => range.from >= top)?.from).toBe(top + 25n)
    await db().transaction((tx) => appendEvents(tx, 'sync', [oneEvent('routed')]))
    expect(await count(db(), 'hubmirror.replica_events_default')).toBe(25)

    await age(db(), Number(top) + 25)
    expect(await pruneEvents(db(), WEEK_MS, 1, 10)).toBe(Number(top) + 24)
    expect(await count(db(), 'hubmirror.replica_events_default')).toBe(0)
    expect((await readEvents(db(), { after: '0' })).map((event) => event.hubspot_id)).toEqual(['routed'])
  })

  it('keeps partitions ahead of the appends as commits near the last one', async () => {
    const keeper = await keepEventPartitionsAhead(db(), (error) => {
      throw error
    })
    try {
      const first = await eventLogLayout(db())
      const top = first.ranges.at(-1)!.to
      expect(top).toBeGreaterThan(BigInt(EVENT_PARTITION_SEQS))
      // Jump the log's sequence to just below the last partition made, then commit one event there.
      await db().query(`SELECT setval('hubmirror.replica_events_seq_seq', $1::bigint)`, [String(top - 10n)])
      await db().transaction((tx) => appendEvents(tx, 'sync', [oneEvent('near-the-top')]))
      await within(10_000, async () => (await eventLogLayout(db())).ranges.at(-1)!.to > top)
      const head = BigInt(await headSeq(db()))
      expect((await eventLogLayout(db())).ranges.at(-1)!.to).toBeGreaterThan(head + 2n * BigInt(EVENT_PARTITION_SEQS))
      expect(await count(db(), 'hubmirror.replica_events_default')).toBe(0)
    } finally {
      await keeper.stop()
    }
  })

  it('finds partitions already ahead with one look: no transaction, no lock, no DDL', async () => {
    const made = await ensureEventPartitions(db())
    const { db: counted, statements, transactions } = countingStatements(db())
    // Every start calls this; before, each took a transaction, the lock and four statements more.
    expect(await ensureEventPartitions(counted)).toBe(made)
    expect(transactions()).toBe(0)
    expect(statements).toHaveLength(1)
    // Past what is made, the look sends it the careful way, which makes the partitions.
    const further = await ensureEventPartitions(counted, { through: made + 10n })
    expect(further).toBeGreaterThan(made + 10n)
    expect(transactions()).toBe(1)
    expect((await eventLogLayout(db())).ranges.at(-1)!.to).toBe(further)
    // On Postgres the partitions' DDL goes in one message, however many partitions (before: a round trip each statement).
    if (db().kind === 'pg') expect(statements.filter((sql) => sql.includes('CREATE TABLE'))).toHaveLength(1)
  })

  it.skipIf(!realPostgres)(
    'leaves a partition it cannot lock in time for the next prune, and the writer holding it commits',
    async () => {
      await ensureEventPartitions(db(), { size: 50, through: 200n })
      await fill(db(), 120)
      await age(db(), 100)
      // Another connection's write is open on the log: dropping a partition needs it to finish.
      const url = (await db().query<{ db: string }>('SELECT current_database() AS db')).rows[0].db
      const writer = new pg.Client({ connectionString: withDatabase(process.env.DATABASE_URL!, url) })
      await writer.connect()
      try {
        await writer.query('BEGIN')
        await writer.query(
          `INSERT INTO hubmirror.replica_events (kind, op, hubspot_id, exam_id, source) VALUES ('booking', 'upsert', 'open', 'e1', 'sync')`,
        )
        const layoutBefore = await eventLogLayout(db())
        // The boundary is raised and the straddling partition trimmed; the whole ones wait.
        await pruneEvents(db(), WEEK_MS, 1, 10)
        expect(await prunedThrough(db())).toBe('100')
        expect((await eventLogLayout(db())).ranges.length).toBe(layoutBefore.ranges.length)
        await writer.query('COMMIT')
      } finally {
        await writer.end()
      }
      expect(await pruneEvents(db(), WEEK_MS, 1, 10)).toBe(100)
      expect((await eventLogLayout(db())).ranges[0]!.from).toBe(101n)
      expect((await readEvents(db(), { after: '100' })).map((event) => event.hubspot_id).at(-1)).toBe('open')
    },
  )
})

function withDatabase(base: string, database: string): string {
  const url = new URL(base)
  url.pathname = `/${database}`
  return url.toString()
}

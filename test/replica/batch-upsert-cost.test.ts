// A batch upsert's cost is its batch, not the table: it reads the rows it replaces by index probes, and a new record's change list is not sent twice.
import { describe, expect, it } from 'vitest'
import type { ChangeEvent } from '../../src/model/records.js'
import { readEvents, upsertBookings, type ReplicaDriver, type Transaction } from '../../src/replica/index.js'
import { makeBooking, makeExam } from '../support/records.js'
import { replicaPerTest } from '../support/scratch-replica.js'

interface Statement {
  sql: string
  params: unknown[]
}

/** Runs an upsert of `records` in one transaction, keeping every statement it sent. */
async function upsertRecording(db: ReplicaDriver, records: Parameters<typeof upsertBookings>[1]) {
  const statements: Statement[] = []
  const events = await db.transaction((tx) => {
    const recording: Transaction = {
      query: (sql, params) => {
        statements.push({ sql, params: params ?? [] })
        return tx.query(sql, params)
      },
      announce: (appended) => tx.announce(appended),
    }
    return upsertBookings(recording, records, 'sync')
  })
  return { statements, events }
}

/** The plan of `sql` run with `params`, as EXPLAIN prints it. */
async function plan(db: ReplicaDriver, { sql, params }: Statement): Promise<string> {
  const { rows } = await db.query<{ 'QUERY PLAN': string }>(`EXPLAIN ${sql}`, params)
  return rows.map((row) => row['QUERY PLAN']).join('\n')
}

describe('batch upsert cost', () => {
  const db = replicaPerTest()

  it('locks the rows a batch replaces by index, not by scanning a table 20 times the batch', async () => {
    const exam = makeExam()
    // 20,000 bookings already in the table, not analyzed yet: a new replica's first backfill, as its
    // later batches find it (autovacuum has not come round, or is off).
    await db().query(
      `INSERT INTO public.hubspot_bookings (hubspot_id, mock_exam_id, student_name, hs_lastmodifieddate)
       SELECT (5000000 + n)::text, $1, 'Student ' || n, now() FROM generate_series(1, 20000) AS n`,
      [exam.hubspot_id],
    )
    const batch = Array.from({ length: 1000 }, () => makeBooking(exam))
    const { statements, events } = await upsertRecording(db(), batch)
    expect(events).toHaveLength(1000)

    const lock = statements.find((statement) => /FOR UPDATE/.test(statement.sql))
    expect(lock, 'the statement that locks the rows being replaced').toBeDefined()
    const lockPlan = await plan(db(), lock!)
    expect(lockPlan).toMatch(/Index Scan using hubspot_bookings_hubspot_id_key on hubspot_bookings/)
    expect(lockPlan).not.toMatch(/Seq Scan on hubspot_bookings/)
  })

  it("sends a new record's row once: the log derives its change list, and keeps what the write returned", async () => {
    const exam = makeExam()
    const fresh = makeBooking(exam, { student_email: null, notes: 'first "visit" — 1/2' })
    const { statements, events } = await upsertRecording(db(), [fresh])

    const append = statements.find((statement) => /INSERT INTO hubmirror\.replica_events/.test(statement.sql))
    const sent = JSON.parse(String(append!.params[1])) as Array<Record<string, unknown>>
    expect(sent).toHaveLength(1)
    expect(sent[0]).not.toHaveProperty('changes')
    expect(sent[0].row).toMatchObject({ hubspot_id: fresh.hubspot_id, student_name: fresh.student_name })

    const [returned] = events as ChangeEvent[]
    expect(returned.changes).toMatchObject({ student_name: [null, fresh.student_name], notes: [null, fresh.notes] })
    expect(returned.changes).not.toHaveProperty('student_email')
    expect(returned.changes).not.toHaveProperty('hubspot_id')
    const [logged] = await readEvents(db(), { after: '0' })
    expect(logged.changes).toEqual(returned.changes)
  })
})

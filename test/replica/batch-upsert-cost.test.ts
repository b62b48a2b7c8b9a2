// A batch upsert's cost is its batch, not the table: it reads the rows it replaces by index probes, and a new record's values go to Postgres once.
import { describe, expect, it } from 'vitest'
import type { ChangeEvent } from '../../src/model/records.js'
import { readEvents, upsertBookings, type ReplicaDriver, type Transaction } from '../../src/replica/index.js'
import { makeBooking, makeExam } from '../support/records.js'
import { replicaPerTest } from '../support/scratch-replica.js'

interface Statement {
  sql: string
  params: unknown[]
  rows: Record<string, unknown>[]
}

/**
 * Runs an upsert of `records` in one transaction, keeping every statement it sent and what came
 * back. `afterLock` runs once the rows being replaced are locked, before anything is written;
 * `live`: a listener here takes whole events meanwhile, as the realtime hub of a server does.
 */
async function upsertRecording(
  db: ReplicaDriver,
  records: Parameters<typeof upsertBookings>[1],
  { afterLock, live = false }: { afterLock?: () => Promise<void>; live?: boolean } = {},
) {
  const statements: Statement[] = []
  const stopListening = live ? db.onCommitted(() => undefined) : () => undefined
  const events = await db
    .transaction((tx) => {
      const recording: Transaction = {
        query: async <R>(sql: string, params?: unknown[]) => {
          const result = await tx.query<R>(sql, params)
          statements.push({ sql, params: params ?? [], rows: result.rows as Record<string, unknown>[] })
          if (/FOR UPDATE/.test(sql) && afterLock) await afterLock()
          afterLock = undefined
          return result
        },
        announce: (appended) => tx.announce(appended),
        wantsRows: tx.wantsRows,
      }
      return upsertBookings(recording, records, 'sync')
    })
    .finally(stopListening)
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

  it("sends a new record's values once: the log's row and change list are made from the inserted row", async () => {
    const exam = makeExam()
    const fresh = makeBooking(exam, { student_email: null, notes: 'first "visit" — 1/2' })
    const { statements, events } = await upsertRecording(db(), [fresh], { live: true })

    // Before: the write's payload, then the event's (the row the write returned, sent back).
    const carrying = statements.filter((statement) => JSON.stringify(statement.params).includes(fresh.student_name!))
    expect(carrying, 'statements that send the record').toHaveLength(1)
    expect(carrying[0].sql).toMatch(/INSERT INTO hubmirror\.replica_events/)

    const [returned] = events as ChangeEvent[]
    expect(returned.changes).toMatchObject({ student_name: [null, fresh.student_name], notes: [null, fresh.notes] })
    expect(returned.changes).not.toHaveProperty('student_email')
    expect(returned.changes).not.toHaveProperty('hubspot_id')
    const [logged] = await readEvents(db(), { after: '0' })
    expect(logged.changes).toEqual(returned.changes)
    expect(JSON.parse(logged.rowJson)).toEqual(returned.row)
  })

  it('sends no row back when no one here delivers events live: envelopes return, the log keeps rows and changes', async () => {
    const exam = makeExam()
    const quiet = makeBooking(exam, { notes: 'quiet' })
    const heard = makeBooking(exam, { notes: 'heard' })
    const alone = await upsertRecording(db(), [quiet])
    const listened = await upsertRecording(db(), [heard], { live: true })

    const insertOf = (run: typeof alone) =>
      run.statements.find((s) => /INSERT INTO hubmirror\.replica_events/.test(s.sql))!
    expect(Object.keys(insertOf(listened).rows[0])).toContain('row')
    expect(Object.keys(insertOf(alone).rows[0])).not.toContain('row')
    const [envelope] = alone.events
    expect(envelope).toMatchObject({
      kind: 'booking',
      op: 'upsert',
      hubspot_id: quiet.hubspot_id,
      exam_id: exam.hubspot_id,
    })
    expect(envelope).not.toHaveProperty('row')
    expect(envelope).not.toHaveProperty('changes')

    // The log holds both whole, alike: only what came back differs.
    const logged = await readEvents(db(), { after: '0' })
    const [quietLogged, heardLogged] = [quiet, heard].map((b) => logged.find((e) => e.hubspot_id === b.hubspot_id)!)
    expect(quietLogged.seq).toBe(envelope.seq)
    expect(JSON.parse(quietLogged.rowJson)).toMatchObject({ hubspot_id: quiet.hubspot_id, notes: 'quiet' })
    expect(quietLogged.changes).toMatchObject({ notes: [null, 'quiet'] })
    expect(Object.keys(quietLogged.changes!).sort()).toEqual(Object.keys(heardLogged.changes!).sort())
    expect(heardLogged.changes).toEqual(listened.events[0].changes)
  })

  it('versions a record another transaction inserted after the lock looked for it, as any row it replaces', async (context) => {
    // PGlite is one session: no other transaction can get in between.
    if (db().kind === 'pglite') return context.skip()
    const exam = makeExam()
    const newer = makeBooking(exam)
    const older = makeBooking(exam)
    const untouched = makeBooking(exam)
    const at = (record: { hs_lastmodifieddate: string }, ms: number) =>
      new Date(Date.parse(record.hs_lastmodifieddate) + ms).toISOString()
    const theirs = [
      { ...newer, booking_status: 'cancelled', hs_lastmodifieddate: at(newer, -1_000) },
      { ...older, booking_status: 'cancelled', hs_lastmodifieddate: at(older, 1_000) },
    ]
    const { events } = await upsertRecording(db(), [newer, older, untouched], {
      live: true,
      afterLock: () =>
        db()
          .transaction((other) => upsertBookings(other, theirs, 'write'))
          .then(() => undefined),
    })

    // Ours is newer for one (an update of what they wrote), older for the other (no event, theirs stays).
    const byId = new Map(events.map((event) => [event.hubspot_id, event]))
    expect([...byId.keys()].sort()).toEqual([newer.hubspot_id, untouched.hubspot_id].sort())
    expect(byId.get(newer.hubspot_id)!.changes).toEqual({ booking_status: ['cancelled', 'confirmed'] })
    expect(byId.get(untouched.hubspot_id)!.changes).toMatchObject({ student_name: [null, untouched.student_name] })
    const { rows } = await db().query<{ hubspot_id: string; booking_status: string }>(
      'SELECT hubspot_id, booking_status FROM public.hubspot_bookings WHERE hubspot_id = ANY($1)',
      [[newer.hubspot_id, older.hubspot_id, untouched.hubspot_id]],
    )
    expect(Object.fromEntries(rows.map((row) => [row.hubspot_id, row.booking_status]))).toEqual({
      [newer.hubspot_id]: 'confirmed',
      [older.hubspot_id]: 'cancelled',
      [untouched.hubspot_id]: 'confirmed',
    })
    // Each event the log holds, in seq order: theirs two, then ours two, none twice.
    const logged = await readEvents(db(), { after: '0' })
    expect(logged.map((event) => event.hubspot_id)).toEqual([
      ...theirs.map((record) => record.hubspot_id).sort(),
      ...events.map((event) => event.hubspot_id),
    ])
  })
})

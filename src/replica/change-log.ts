// The change log: appends events inside the replica transaction, and reads them back by cursor.
import { compareSeq } from '../model/seq.js'
import type {
  ChangeEvent,
  ChangeOrigin,
  CommittedEvent,
  FieldChanges,
  HistoryEntry,
  LoggedChangeEvent,
  ObjectKind,
} from '../model/records.js'
import { BOOKINGS, EXAMS } from './columns.js'
import { dropPartitionsThrough, eventLogLayout, tablesToTrim } from './change-log-partitions.js'
import type { Queryable, ReplicaDriver, Transaction } from './driver.js'
import { fieldChanges, newRecordChangesSql, UNDIFFED_COLUMNS } from './field-changes.js'
import { inJsonbKeyOrder } from './jsonb-order.js'
import { LOCKS } from './locks.js'
import { CHANGE_LOG_HEAD } from './schema.js'

export type EventSource = ChangeEvent['source']

export interface NewEvent {
  kind: ObjectKind
  op: 'upsert' | 'delete'
  hubspot_id: string
  exam_id: string | null
  changes: FieldChanges
  origin: ChangeOrigin
  row: unknown
}

// The columns are selected under ChangeEvent's names and in its key order, so that rows come back
// as events (and a logged event's envelope stringifies as the event's would): no copy field by field.
const AT_SELECT = `to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') AS at`
const ENVELOPE_SELECT = `seq::text AS seq, kind, op, hubspot_id, exam_id, source, ${AT_SELECT}, changes, origin`

/** The head of every append: the log's columns, in the order each statement selects them. */
const INSERT_EVENTS =
  'INSERT INTO hubmirror.replica_events (kind, op, hubspot_id, exam_id, source, changes, origin, row_data)'

/**
 * The history rows of a statement's `appended` CTE (RETURNING seq … created_at), in the same
 * statement: retention prunes the log, never the history, and the two can never disagree about a change.
 */
const HISTORY_OF_APPENDED = `history AS (
       INSERT INTO hubmirror.record_history (seq, kind, op, hubspot_id, exam_id, source, changes, origin, created_at)
       SELECT seq, kind, op, hubspot_id, exam_id, source, changes, origin, created_at FROM appended)`

export async function appendEvents(tx: Transaction, source: EventSource, events: NewEvent[]): Promise<ChangeEvent[]> {
  if (events.length === 0) return []
  // Everything that does not need the seqs is done before the lock below: concurrent writers (the
  // backfill's) queue on it, so the work done while it is held is what bounds their throughput.
  const payload = JSON.stringify(events.map((event, n) => ({ ...event, n })))
  const bodies = events.map((event) => ({
    kind: event.kind,
    op: event.op,
    hubspot_id: event.hubspot_id,
    exam_id: event.exam_id,
    source,
    changes: inJsonbKeyOrder(event.changes),
    origin: inJsonbKeyOrder(event.origin),
    row: inJsonbKeyOrder(event.row) as ChangeEvent['row'],
  }))
  // Held from the first event insert to commit, so that seq order is commit order. Without it a
  // reader could see seq 11 committed while seq 10 is still in flight, and a client resuming
  // from 11 would never receive 10. (insertWithEvents takes it too, inside its statement.)
  await tx.query('SELECT pg_advisory_xact_lock($1)', [LOCKS.append])
  // The history row goes in with the log row, in the same statement (HISTORY_OF_APPENDED). Only
  // each event's seq and time come back: the rest is what was sent.
  const { rows } = await tx.query<{ seq: string; at: string }>(
    `WITH appended AS (
       ${INSERT_EVENTS}
       SELECT e.kind, e.op, e.hubspot_id, e.exam_id, $1, e.changes, e.origin, e.row
         FROM jsonb_to_recordset($2::jsonb) AS e(kind text, op text, hubspot_id text, exam_id text,
                                                 changes jsonb, origin jsonb, row jsonb, n int)
        ORDER BY e.n
       RETURNING seq, kind, op, hubspot_id, exam_id, source, changes, origin, created_at),
     ${HISTORY_OF_APPENDED}
     SELECT seq::text AS seq, ${AT_SELECT} FROM appended`,
    [source, payload],
  )
  // Rows are inserted in the events' order, so ascending seqs pair with the events one to one.
  const seqs = rows.sort((a, b) => compareSeq(a.seq, b.seq))
  // Keys in ChangeEvent's order (the wire order): seq first, at between source and changes.
  const appended = bodies.map(({ source, changes, origin, row, ...head }, i): ChangeEvent => ({
    seq: seqs[i].seq,
    ...head,
    source,
    at: seqs[i].at,
    changes,
    origin,
    row,
  }))
  tx.announce(appended)
  return appended
}

/** The insert insertWithEvents logs: its statement (parameters from $1), and how a row it returns becomes an event. */
export interface RecordInsert {
  /** `INSERT INTO <record table> … ON CONFLICT DO NOTHING RETURNING` the whole row: the rows it returns are the ones logged. */
  sql: string
  params: unknown[]
  kind: ObjectKind
  /** Over the returned row, alias `inserted`: the API record as json with its keys in jsonb order, and its exam's id. */
  row: string
  examId: string
}

/**
 * Inserts records new to the replica and appends their events in the same statement, so that each
 * record's values travel to Postgres once: the log's row and change list (every field set, as
 * fieldChanges gives with nothing before) are made from the inserted row there, where appendEvents
 * would have them sent back and forth (the write's RETURNING, then the event). A backfill's tail is
 * CPU on both sides of that trip (bench/RESULTS.md, "Backfill at 100k").
 *
 * The append lock is taken inside the statement once every row is in, as appendEvents takes it
 * after its write: the insert's waits (a conflicting insert in flight) never happen under the lock.
 * Returns the appended events in seq order, as appendEvents does, and announces them.
 */
export async function insertWithEvents(
  tx: Transaction,
  source: EventSource,
  insert: RecordInsert,
  origin: ChangeOrigin,
  origins?: ReadonlyMap<string, ChangeOrigin>,
): Promise<CommittedEvent[]> {
  const param = (n: number) => `$${insert.params.length + n}`
  // With no one here to deliver them live, the rows stay in Postgres: a backfill run from the CLI
  // spent a seventh of its CPU parsing its own rows back and diffing change lists nobody read.
  const { rows } = await tx.query<{
    seq: string
    op: ChangeEvent['op']
    hubspot_id: string
    exam_id: string | null
    at: string
    row?: Record<string, unknown>
  }>(
    `WITH inserted AS (${insert.sql}),
     new_rows AS (
       SELECT inserted.hubspot_id, ${insert.examId} AS exam_id,
              CASE WHEN inserted.deleted_at IS NULL THEN 'upsert' ELSE 'delete' END AS op,
              (${insert.row})::jsonb AS row
         FROM inserted),
     -- count(*) reads every row in before the lock is taken; every seq below is drawn after it.
     locked AS (SELECT pg_advisory_xact_lock(${param(1)}) FROM (SELECT count(*) FROM new_rows) AS settled),
     -- The change list is derived here, under the lock: deriving it before, into the rows kept for
     -- this insert, cost more Postgres CPU than the lock's waits (bench/RESULTS.md).
     appended AS (
       ${INSERT_EVENTS}
       SELECT ${param(2)}, n.op, n.hubspot_id, n.exam_id, ${param(3)}, ${newRecordChangesSql('n.row', param(4))},
              coalesce(${param(5)}::jsonb -> n.hubspot_id, ${param(6)}::jsonb), n.row
         FROM new_rows AS n CROSS JOIN locked
        ORDER BY n.hubspot_id COLLATE "C"
       RETURNING seq, kind, op, hubspot_id, exam_id, source, changes, origin, created_at, row_data),
     ${HISTORY_OF_APPENDED}
     SELECT seq::text AS seq, op, hubspot_id, exam_id, ${AT_SELECT}${tx.wantsRows ? ', row_data AS row' : ''}
       FROM appended`,
    [
      ...insert.params,
      LOCKS.append,
      insert.kind,
      source,
      UNDIFFED_COLUMNS,
      origins?.size ? JSON.stringify(Object.fromEntries(origins)) : null,
      JSON.stringify(origin),
    ],
  )
  // The change list and origin are the ones the statement logged, worked out again here rather than
  // sent back (field-changes.ts keeps the JS and SQL rules one).
  const appended = rows
    .sort((a, b) => compareSeq(a.seq, b.seq))
    .map(({ seq, op, hubspot_id, exam_id, at, row }): CommittedEvent => {
      // Keys in ChangeEvent's order (the wire order): changes before origin, row last.
      const head = { seq, kind: insert.kind, op, hubspot_id, exam_id, source, at }
      const by = inJsonbKeyOrder(origins?.get(hubspot_id) ?? origin)
      if (row === undefined) return { ...head, origin: by }
      const changes = inJsonbKeyOrder(fieldChanges(undefined, row))
      return { ...head, changes, origin: by, row: row as ChangeEvent['row'] }
    })
  tx.announce(appended)
  return appended
}

export interface ReadEventsOptions {
  after: string
  examIds?: readonly string[] | null
  limit?: number
  /** Upper bound, inclusive. */
  through?: string
}

/**
 * Events after a cursor, with each row as jsonb's text rather than parsed: the drivers would
 * JSON.parse it only for the fan-out to JSON.stringify it again (see realtime/log-entry.ts).
 */
export async function readEvents(db: Queryable, options: ReadEventsOptions): Promise<LoggedChangeEvent[]> {
  // The page is chosen first and only its rows are printed: on a table not yet analyzed (just after
  // a backfill) Postgres may sort a bitmap scan's matches, and would then print every match, not
  // just the page (2.5 times the database's CPU for pages of 1,000 in bench/realtime/replay.ts).
  const { rows } = await db.query<LoggedChangeEvent>(
    `SELECT ${ENVELOPE_SELECT}, coalesce(row_data::text, 'null') AS "rowJson"
       FROM (SELECT * FROM hubmirror.replica_events
              WHERE seq > $1::bigint
                AND ($2::text[] IS NULL OR exam_id = ANY($2::text[]))
                AND ($3::bigint IS NULL OR seq <= $3::bigint)
              ORDER BY seq LIMIT $4) AS replica_events
      ORDER BY replica_events.seq`,
    [
      options.after,
      options.examIds && options.examIds.length ? options.examIds : null,
      options.through ?? null,
      options.limit ?? 1000,
    ],
  )
  return rows
}

export async function headSeq(db: Queryable): Promise<string> {
  const { rows } = await db.query<{ seq: string }>(`SELECT ${CHANGE_LOG_HEAD}::text AS seq`)
  return rows[0].seq
}

/** The oldest cursor that can still resume: events after it are all retained. */
export async function prunedThrough(db: Queryable): Promise<string> {
  const { rows } = await db.query<{ seq: string }>(
    'SELECT pruned_through::text AS seq FROM hubmirror.replica_events_retention',
  )
  return rows[0]?.seq ?? '0'
}

/** Events one prune statement deletes: a few ms of work, so a writer never waits long behind it. */
const PRUNE_BATCH = 5000

/**
 * Drops events older than maxAgeMs, keeping at least keepLatest; returns how many were dropped.
 * The boundary is raised first, so a cursor at or before it gets "refetch" from then on, while
 * older rows may still be on disk. Then every partition wholly at or below it is dropped
 * (change-log-partitions.ts), and the old rows left (in the partition the boundary falls in, and
 * in the default partition) go in seq ranges of `batch`, each its own short statement. A prune cut
 * short, or a partition whose lock was not had in time, leaves rows at or below the boundary,
 * which no reader asks for and the next prune removes.
 */
export async function pruneEvents(
  db: ReplicaDriver,
  maxAgeMs: number,
  keepLatest = 1000,
  batch = PRUNE_BATCH,
): Promise<number> {
  // Newest first by the primary key, stopping at the first old enough: no scan of the whole log.
  const { rows } = await db.query<{ through: string | null }>(
    `SELECT seq::text AS through FROM hubmirror.replica_events
      WHERE created_at < now() - ($1::bigint * interval '1 millisecond')
        AND seq <= ${CHANGE_LOG_HEAD} - $2
      ORDER BY seq DESC LIMIT 1`,
    [maxAgeMs, keepLatest],
  )
  const through = rows[0]?.through
  if (!through) return 0
  await db.query(
    'UPDATE hubmirror.replica_events_retention SET pruned_through = GREATEST(pruned_through, $1::bigint)',
    [through],
  )
  // Read once: the partitions dropped whole and those trimmed row by row are never the same ones.
  const { ranges } = await eventLogLayout(db)
  let dropped = await dropPartitionsThrough(db, ranges, BigInt(through))
  for (const table of tablesToTrim(ranges, BigInt(through))) {
    dropped += await deleteThrough(db, table, BigInt(through), BigInt(batch))
  }
  return dropped
}

async function deleteThrough(db: Queryable, table: string, through: bigint, batch: bigint): Promise<number> {
  const { rows } = await db.query<{ seq: string | null }>(
    `SELECT min(seq)::text AS seq FROM ${table} WHERE seq <= $1::bigint`,
    [String(through)],
  )
  if (rows[0]?.seq == null) return 0
  let deleted = 0
  for (let from = BigInt(rows[0].seq) - 1n; from < through; from += batch) {
    const to = from + batch < through ? from + batch : through
    const result = await db.query(`DELETE FROM ${table} WHERE seq > $1::bigint AND seq <= $2::bigint`, [
      String(from),
      String(to),
    ])
    deleted += result.rowCount
  }
  return deleted
}

export interface HistoryPage {
  entries: HistoryEntry[]
  /** Pass as `cursor` for the next (older) page; null on the last page. */
  next_cursor: string | null
}

/**
 * A record's history, newest first, keyset-paginated on seq (`before`: entries older than it);
 * null when the replica has never held the record (deleted records keep their history).
 */
export async function readHistory(
  db: Queryable,
  kind: ObjectKind,
  hubspotId: string,
  options: { before?: string | null; limit: number },
): Promise<HistoryPage | null> {
  const table = kind === 'exam' ? EXAMS.table : BOOKINGS.table
  const known = await db.query<{ known: boolean }>(
    `SELECT EXISTS (SELECT 1 FROM ${table} WHERE hubspot_id = $1) AS known`,
    [hubspotId],
  )
  if (!known.rows[0].known) return null
  const { rows } = await db.query<HistoryEntry>(
    `SELECT ${ENVELOPE_SELECT}
       FROM hubmirror.record_history
      WHERE kind = $1 AND hubspot_id = $2 AND ($3::bigint IS NULL OR seq < $3::bigint)
      ORDER BY seq DESC LIMIT $4`,
    [kind, hubspotId, options.before ?? null, options.limit + 1],
  )
  const more = rows.length > options.limit
  const entries = more ? rows.slice(0, options.limit) : rows
  return { entries, next_cursor: more ? entries[entries.length - 1].seq : null }
}

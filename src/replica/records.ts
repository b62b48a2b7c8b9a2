// Writes replica rows: versioned upserts and soft deletes, each appending its change-log rows.
import type {
  BookingRecord,
  ChangeEvent,
  CommittedEvent,
  ChangeOrigin,
  ExamRecord,
  FieldChanges,
  ObjectKind,
} from '../model/records.js'
import { appendEvents, insertWithEvents, type EventSource, type NewEvent } from './change-log.js'
import { BOOKINGS, EXAMS, recordJson, recordsetDefinition, writtenColumns, type TableSpec } from './columns.js'
import type { Queryable, Transaction } from './driver.js'
import { fieldChanges } from './field-changes.js'

export interface UpsertOptions {
  /** Overwrite even when the incoming version is not newer (reconcile --fix, restores). */
  force?: boolean
  /** Who made the change; by default a hubmirror write of unknown subject, or HubSpot for pulls. */
  origin?: ChangeOrigin
  /** Per record (by hubspot_id), overriding `origin`: HubSpot's attribution of what a pull found. */
  origins?: ReadonlyMap<string, ChangeOrigin>
}

function defaultOrigin(source: EventSource): ChangeOrigin {
  return source === 'write' ? { kind: 'hubmirror', subject: null } : { kind: 'hubspot' }
}

/**
 * The rows as they stand, locked in the order of `ids` (callers pass them sorted): the "old" side
 * of each change. Locked so that no other transaction can change a row between this read and the
 * upsert that replaces it.
 */
async function lockCurrent(
  tx: Transaction,
  spec: TableSpec,
  ids: readonly string[],
): Promise<Map<string, Record<string, unknown>>> {
  if (ids.length === 0) return new Map()
  // One index probe per id, in the ids' order. As `hubspot_id = ANY($1)` on a table not analyzed
  // yet (a new replica's first backfill), Postgres scanned the whole table for every batch: 8.7 ms
  // for 1,000 ids at 100k rows, growing with the table.
  const { rows } = await tx.query<{ record: Record<string, unknown> }>(
    `SELECT current.record FROM unnest($1::text[]) WITH ORDINALITY AS wanted(hubspot_id, n)
      CROSS JOIN LATERAL (SELECT ${recordJson(spec, 't', 'jsonb')} AS record FROM ${spec.table} t
                           WHERE t.hubspot_id = wanted.hubspot_id FOR UPDATE) AS current
      ORDER BY wanted.n`,
    [ids],
  )
  return new Map(rows.map(({ record }) => [String(record.hubspot_id), record]))
}

/**
 * Upserts records, skipping any whose hs_lastmodifieddate is not newer than the stored one,
 * so that a late or repeated pull never moves a row back in time. Returns the events appended
 * for the rows that actually changed, in seq order.
 *
 * Records the replica does not hold yet (all of a backfill's) are inserted with their events in
 * one statement; the rest are versioned against the rows they replace, which are locked first.
 */
async function upsertRecords(
  tx: Transaction,
  spec: TableSpec,
  records: readonly object[],
  source: EventSource,
  options: UpsertOptions = {},
): Promise<CommittedEvent[]> {
  if (records.length === 0) return []
  const latest = dedupeLatest(records as VersionedRecord[])
  const before = await lockCurrent(
    tx,
    spec,
    latest.map((r) => r.hubspot_id),
  )
  const origin = options.origin ?? defaultOrigin(source)
  const fresh = latest.filter((r) => !before.has(r.hubspot_id))
  const inserted = await insertNew(tx, spec, fresh, source, origin, options.origins)
  // An id another transaction inserted after the lock above looked for it: the insert passed it
  // over (ON CONFLICT DO NOTHING), and it is versioned against that row like any other.
  const insertedIds = new Set(inserted.map((event) => event.hubspot_id))
  const raced = fresh.filter((r) => !insertedIds.has(r.hubspot_id)).map((r) => r.hubspot_id)
  for (const [id, row] of await lockCurrent(tx, spec, raced)) before.set(id, row)
  const replaced = await replaceExisting(
    tx,
    spec,
    latest.filter((r) => !insertedIds.has(r.hubspot_id)),
    before,
    source,
    { ...options, origin },
  )
  return [...inserted, ...replaced]
}

/** The head of both writes: the records sent as $1 (a JSON array), into `spec`'s table as `t`. */
function insertSent(spec: TableSpec): string {
  const columns = writtenColumns(spec)
  return `INSERT INTO ${spec.table} AS t (${columns.join(', ')}, synced_at)
          SELECT ${columns.map((c) => `r.${c}`).join(', ')}, now()
            FROM jsonb_to_recordset($1::jsonb) AS r(${recordsetDefinition(spec)})`
}

/** Records the replica does not hold, with their events in one statement; ids taken meanwhile are left out. */
async function insertNew(
  tx: Transaction,
  spec: TableSpec,
  records: readonly VersionedRecord[],
  source: EventSource,
  origin: ChangeOrigin,
  origins: ReadonlyMap<string, ChangeOrigin> | undefined,
): Promise<CommittedEvent[]> {
  if (records.length === 0) return []
  return insertWithEvents(
    tx,
    source,
    {
      sql: `${insertSent(spec)} ON CONFLICT (hubspot_id) DO NOTHING RETURNING t.*`,
      params: [JSON.stringify(records)],
      kind: spec.kind,
      row: recordJson(spec, 'inserted', 'jsonb'),
      examId: `inserted.${spec.examColumn}`,
    },
    origin,
    origins,
  )
}

/** The versioned upsert of records whose rows `before` holds, locked: each event lists what changed. */
async function replaceExisting(
  tx: Transaction,
  spec: TableSpec,
  records: readonly VersionedRecord[],
  before: ReadonlyMap<string, Record<string, unknown>>,
  source: EventSource,
  options: UpsertOptions & { origin: ChangeOrigin },
): Promise<ChangeEvent[]> {
  if (records.length === 0) return []
  const updates = writtenColumns(spec)
    .filter((c) => c !== 'hubspot_id')
    .map((c) => `${c} = EXCLUDED.${c}`)
  const { rows } = await tx.query<{ record: Record<string, unknown> }>(
    `${insertSent(spec)}
     ON CONFLICT (hubspot_id) DO UPDATE SET ${updates.join(', ')}, synced_at = now()
      WHERE $2::boolean OR t.hs_lastmodifieddate < EXCLUDED.hs_lastmodifieddate
     RETURNING ${recordJson(spec, 't', 'jsonb')} AS record`,
    [JSON.stringify(records), options.force === true],
  )
  return appendEvents(
    tx,
    source,
    rows.map(({ record }) => {
      const id = String(record.hubspot_id)
      return toNewEvent(spec, record, fieldChanges(before.get(id), record), options.origins?.get(id) ?? options.origin)
    }),
  )
}

type VersionedRecord = { hubspot_id: string; hs_lastmodifieddate: string }

/** ON CONFLICT cannot touch one row twice in a statement: keep the newest version of each id, in id order. */
function dedupeLatest(records: VersionedRecord[]): VersionedRecord[] {
  const latest = new Map<string, VersionedRecord>()
  for (const record of records) {
    const seen = latest.get(record.hubspot_id)
    if (!seen || Date.parse(seen.hs_lastmodifieddate) <= Date.parse(record.hs_lastmodifieddate))
      latest.set(record.hubspot_id, record)
  }
  // In id order: two statements over the same rows then lock them in the same order.
  return [...latest.values()].sort((a, b) => (a.hubspot_id < b.hubspot_id ? -1 : a.hubspot_id > b.hubspot_id ? 1 : 0))
}

function toNewEvent(
  spec: TableSpec,
  record: Record<string, unknown>,
  changes: FieldChanges,
  origin: ChangeOrigin,
): NewEvent {
  return {
    kind: spec.kind,
    op: record.deleted_at ? 'delete' : 'upsert',
    hubspot_id: String(record.hubspot_id),
    exam_id: (record[spec.examColumn] as string | null) ?? null,
    changes,
    origin,
    row: record,
  }
}

/** Marks rows deleted (HubSpot archived them); rows already deleted are left alone. */
async function softDelete(
  tx: Transaction,
  spec: TableSpec,
  hubspotIds: readonly string[],
  deletedAt: Date,
  source: EventSource,
  origin: ChangeOrigin = defaultOrigin(source),
): Promise<ChangeEvent[]> {
  if (hubspotIds.length === 0) return []
  const { rows } = await tx.query<{ record: Record<string, unknown> }>(
    `UPDATE ${spec.table} AS t SET deleted_at = $2, synced_at = now()
      WHERE t.hubspot_id = ANY($1::text[]) AND t.deleted_at IS NULL
     RETURNING ${recordJson(spec, 't', 'jsonb')} AS record`,
    [hubspotIds, deletedAt.toISOString()],
  )
  return appendEvents(
    tx,
    source,
    rows.map(({ record }) => toNewEvent(spec, record, { deleted_at: [null, record.deleted_at] }, origin)),
  )
}

/** The replica's records of these ids (deleted ones too), unlocked: what a pull compares HubSpot's with. */
export async function currentRecords(
  db: Queryable,
  kind: ObjectKind,
  ids: readonly string[],
): Promise<Map<string, Record<string, unknown>>> {
  if (ids.length === 0) return new Map()
  const spec = kind === 'exam' ? EXAMS : BOOKINGS
  const { rows } = await db.query<{ record: Record<string, unknown> }>(
    `SELECT ${recordJson(spec, 't', 'jsonb')} AS record FROM ${spec.table} t WHERE t.hubspot_id = ANY($1::text[])`,
    [ids],
  )
  return new Map(rows.map(({ record }) => [String(record.hubspot_id), record]))
}

export const upsertExams = (
  tx: Transaction,
  records: readonly ExamRecord[],
  source: EventSource,
  options?: UpsertOptions,
) => upsertRecords(tx, EXAMS, records, source, options)
export const upsertBookings = (
  tx: Transaction,
  records: readonly BookingRecord[],
  source: EventSource,
  options?: UpsertOptions,
) => upsertRecords(tx, BOOKINGS, records, source, options)
export const softDeleteExams = (
  tx: Transaction,
  ids: readonly string[],
  at: Date,
  source: EventSource,
  origin?: ChangeOrigin,
) => softDelete(tx, EXAMS, ids, at, source, origin)
export const softDeleteBookings = (
  tx: Transaction,
  ids: readonly string[],
  at: Date,
  source: EventSource,
  origin?: ChangeOrigin,
) => softDelete(tx, BOOKINGS, ids, at, source, origin)

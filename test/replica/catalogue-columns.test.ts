// The replica tables as the migrations leave them match the field catalogue both ways: a column without a
// field, or a field without a column (a migration forgotten), fails. Real Postgres with DATABASE_URL, else PGlite.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { BOOKING_FIELDS } from '../../src/model/objects/booking.js'
import { EXAM_FIELDS } from '../../src/model/objects/exam.js'
import { columnTypes, VERSIONING_COLUMNS, type Fields } from '../../src/model/objects/field.js'
import { openMigratedReplica } from '../support/scratch-replica.js'

/** information_schema's names of the catalogue's column types. */
const SQL_TYPE: Record<string, string> = {
  text: 'text',
  integer: 'integer',
  date: 'date',
  timestamptz: 'timestamp with time zone',
}
/** Columns of the table that no field describes, each for a reason of the replica's own. */
const REPLICA_ONLY: Record<string, string> = { id: 'uuid', hubspot_id: 'text' }

/** Column → type the catalogue says the table has. */
function expectedColumns(fields: Fields): Record<string, string> {
  const all = { ...columnTypes(fields), ...VERSIONING_COLUMNS }
  return { ...REPLICA_ONLY, ...Object.fromEntries(Object.entries(all).map(([c, t]) => [c, SQL_TYPE[t]!])) }
}

/** What differs between the table and the catalogue; empty when they agree. */
function mismatches(expected: Record<string, string>, actual: Record<string, string>): string[] {
  const out: string[] = []
  for (const [column, type] of Object.entries(expected)) {
    if (!(column in actual)) out.push(`field without a column: ${column}`)
    else if (actual[column] !== type) out.push(`${column}: catalogue ${type}, table ${actual[column]}`)
  }
  for (const column of Object.keys(actual)) if (!(column in expected)) out.push(`column without a field: ${column}`)
  return out
}

const TABLES = [
  { table: 'hubspot_bookings', fields: BOOKING_FIELDS as Fields },
  { table: 'hubspot_mock_exams', fields: EXAM_FIELDS as Fields },
]

describe('replica columns versus the field catalogue', () => {
  let replica: Awaited<ReturnType<typeof openMigratedReplica>>
  const actual: Record<string, Record<string, string>> = {}

  beforeAll(async () => {
    replica = await openMigratedReplica()
    const { rows } = await replica.db.query<{ table_name: string; column_name: string; data_type: string }>(
      `SELECT table_name, column_name, data_type FROM information_schema.columns
        WHERE table_schema = 'public' AND table_name = ANY($1::text[])`,
      [TABLES.map((t) => t.table)],
    )
    for (const row of rows) (actual[row.table_name] ??= {})[row.column_name] = row.data_type
  }, 60_000)

  afterAll(async () => {
    await replica?.close()
  })

  it.each(TABLES)('public.$table has exactly the catalogue columns, with their types', ({ table, fields }) => {
    expect(Object.keys(actual[table] ?? {}).length).toBeGreaterThan(0)
    expect(mismatches(expectedColumns(fields), actual[table]!)).toEqual([])
  })

  it('notices a column without a field and a field without a column', () => {
    const { dominant_hand: _dropped, ...fewer } = BOOKING_FIELDS
    expect(mismatches(expectedColumns(fewer as Fields), actual.hubspot_bookings!)).toEqual([
      'column without a field: dominant_hand',
    ])
    const more = { ...BOOKING_FIELDS, shoe_size: { ...BOOKING_FIELDS.dominant_hand, property: 'shoe_size' } }
    expect(mismatches(expectedColumns(more as Fields), actual.hubspot_bookings!)).toEqual([
      'field without a column: shoe_size',
    ])
  })
})

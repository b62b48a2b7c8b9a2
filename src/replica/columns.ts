// The columns of each replica table, in API order, and how a row becomes its JSON record.
import { BOOKING_FIELDS } from '../model/objects/booking.js'
import { EXAM_FIELDS } from '../model/objects/exam.js'
import { columnTypes, VERSIONING_COLUMNS } from '../model/objects/field.js'
import type { ObjectKind } from '../model/records.js'
import { compareJsonbKeys } from './jsonb-order.js'

export interface TableSpec {
  table: string
  kind: ObjectKind
  /** Column → Postgres type, for every column the API exposes besides hubspot_id and the versioning ones (from the catalogue). */
  fields: Record<string, string>
  /** The column that says which exam a row belongs to (for event filtering and cache invalidation). */
  examColumn: string
}

export const EXAMS: TableSpec = {
  table: 'public.hubspot_mock_exams',
  kind: 'exam',
  examColumn: 'hubspot_id',
  fields: columnTypes(EXAM_FIELDS),
}

export const BOOKINGS: TableSpec = {
  table: 'public.hubspot_bookings',
  kind: 'booking',
  examColumn: 'mock_exam_id',
  fields: columnTypes(BOOKING_FIELDS),
}

/** Every column a record carries, in the order the API serialises them. */
export function recordColumns(spec: TableSpec): string[] {
  return ['hubspot_id', ...Object.keys(spec.fields), 'hs_lastmodifieddate', 'deleted_at', 'synced_at']
}

/** The columns a write sends (jsonb_to_recordset's), in the order of `recordsetDefinition`. */
export function writtenColumns(spec: TableSpec): string[] {
  return ['hubspot_id', ...Object.keys(spec.fields), 'hs_lastmodifieddate', 'deleted_at']
}

/** The column list of `jsonb_to_recordset(...) AS r(...)` over the records a write sends. */
export function recordsetDefinition(spec: TableSpec): string {
  const typed = Object.entries(spec.fields).map(([column, type]) => `${column} ${type}`)
  return ['hubspot_id text', ...typed, 'hs_lastmodifieddate timestamptz', 'deleted_at timestamptz'].join(', ')
}

/**
 * A timestamptz as JSON text in UTC, whatever the session's TimeZone (a pooler hands out
 * sessions we did not configure): the very string json_build_object gives under TimeZone=UTC,
 * e.g. "2026-03-01T09:30:00.123+00:00", and NULL for NULL.
 */
function utcTimestamp(expression: string): string {
  return `((to_json(${expression} AT TIME ZONE 'UTC') #>> '{}') || '+00:00')`
}

/**
 * A SQL expression building the API record of alias `t` as json. `keys: 'jsonb'` builds it with
 * its keys in jsonb's order instead, as the change log's events carry a row: the writes that
 * append events read their rows that way, so the events need no reordering in JS.
 */
export function recordJson(spec: TableSpec, alias: string, keys: 'api' | 'jsonb' = 'api'): string {
  const types: Record<string, string> = { ...spec.fields, ...VERSIONING_COLUMNS }
  const columns = recordColumns(spec)
  if (keys === 'jsonb') columns.sort(compareJsonbKeys)
  const pairs = columns.map((column) => {
    const value = `${alias}.${column}`
    return `'${column}', ${types[column] === 'timestamptz' ? utcTimestamp(value) : value}`
  })
  return `json_build_object(${pairs.join(', ')})`
}

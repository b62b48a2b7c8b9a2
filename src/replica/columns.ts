// The columns of each replica table, in API order, and how a row becomes its JSON record.
import type { ObjectKind } from '../model/records.js'

export interface TableSpec {
  table: string
  kind: ObjectKind
  /** Column → Postgres type, for every column the API exposes besides hubspot_id and the versioning ones. */
  fields: Record<string, string>
  /** The column that says which exam a row belongs to (for event filtering and cache invalidation). */
  examColumn: string
}

export const EXAMS: TableSpec = {
  table: 'public.hubspot_mock_exams',
  kind: 'exam',
  examColumn: 'hubspot_id',
  fields: {
    mock_exam_name: 'text',
    mock_type: 'text',
    exam_date: 'date',
    start_time: 'text',
    end_time: 'text',
    location: 'text',
    capacity: 'integer',
    total_bookings: 'integer',
    is_active: 'text',
    created_at: 'timestamptz',
    updated_at: 'timestamptz',
  },
}

export const BOOKINGS: TableSpec = {
  table: 'public.hubspot_bookings',
  kind: 'booking',
  examColumn: 'mock_exam_id',
  fields: {
    booking_id: 'text',
    mock_exam_id: 'text',
    contact_id: 'text',
    student_id: 'text',
    student_name: 'text',
    student_email: 'text',
    booking_status: 'text',
    is_active: 'text',
    attendance: 'text',
    attending_location: 'text',
    exam_date: 'timestamptz',
    dominant_hand: 'text',
    created_at: 'timestamptz',
    updated_at: 'timestamptz',
  },
}

/** Every column a record carries, in the order the API serialises them. */
export function recordColumns(spec: TableSpec): string[] {
  return ['hubspot_id', ...Object.keys(spec.fields), 'hs_lastmodifieddate', 'deleted_at', 'synced_at']
}

/** A SQL expression building the API record of alias `t` as json. */
export function recordJson(spec: TableSpec, alias: string): string {
  const pairs = recordColumns(spec).map((column) => `'${column}', ${alias}.${column}`)
  return `json_build_object(${pairs.join(', ')})`
}

// What a change changed: the fields that differ between a record's row before and after, worked out in JS, and in SQL for a record new to the replica.
import type { FieldChanges } from '../model/records.js'

/** Columns that change on every write, so they would say nothing in a change's field list. */
export const UNDIFFED_COLUMNS: readonly string[] = ['hubspot_id', 'hs_lastmodifieddate', 'updated_at', 'synced_at']
const undiffed = new Set(UNDIFFED_COLUMNS)

/** The fields that differ, as [old, new]; a record new to the replica lists its non-null fields. */
export function fieldChanges(
  before: Record<string, unknown> | undefined,
  after: Record<string, unknown>,
): FieldChanges {
  const changes: FieldChanges = {}
  for (const [field, value] of Object.entries(after)) {
    if (undiffed.has(field)) continue
    const old = before ? (before[field] ?? null) : null
    if (old !== (value ?? null) && !(before === undefined && value === null)) changes[field] = [old, value ?? null]
  }
  return changes
}

/**
 * `fieldChanges(undefined, row)` in SQL, for a jsonb `row` of scalars: every non-null field but the
 * undiffed ones, as [null, value]. The statement binds `undiffedParam` to `UNDIFFED_COLUMNS`.
 */
export function newRecordChangesSql(row: string, undiffedParam: string): string {
  // Nulls and the undiffed keys go first, by jsonb's own operators, rather than row by row in a filter.
  return `(SELECT coalesce(jsonb_object_agg(f.key, jsonb_build_array(NULL, f.value)), '{}'::jsonb)
             FROM jsonb_each(jsonb_strip_nulls(${row} - ${undiffedParam}::text[])) AS f)`
}

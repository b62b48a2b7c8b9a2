// The one replica-versus-HubSpot checker. It maps HubSpot's properties to columns itself, from the
// field list below, never through the production mappers: a mapping bug must fail it.
import { expect } from 'vitest'
import type { HubSpotObject } from '../../src/hubspot/index.js'
import { BOOKING_FIELDS } from '../../src/model/objects/booking.js'
import { EXAM_FIELDS } from '../../src/model/objects/exam.js'
import type { CodecKind, Fields } from '../../src/model/objects/field.js'
import type { Queryable } from '../../src/replica/index.js'
import { listAll, type Kind } from './hubspot-direct.js'

type Conversion = CodecKind
/**
 * Column → conversion from HubSpot's all-string property (DESIGN: replica columns mirror HubSpot).
 * Which fields and which kind of conversion come from the catalogue; the conversions themselves are
 * written again below, so that a codec bug in the catalogue fails this check.
 */
const conversions = (fields: Fields): Record<string, { property: string; how: Conversion }> =>
  Object.fromEntries(Object.entries(fields).map(([column, f]) => [column, { property: f.property, how: f.codec.kind }]))
const COLUMNS: Record<Kind, Record<string, { property: string; how: Conversion }>> = {
  exams: conversions(EXAM_FIELDS),
  bookings: conversions(BOOKING_FIELDS),
}
const TABLE: Record<Kind, string> = { exams: 'public.hubspot_mock_exams', bookings: 'public.hubspot_bookings' }

/** One instant in one spelling: ISO 8601 with milliseconds, UTC; epoch-ms strings accepted. */
const instant = (value: unknown): string | null => {
  if (value === null || value === undefined || value === '') return null
  const raw = String(value)
  return new Date(/^\d+$/.test(raw) ? Number(raw) : raw).toISOString()
}

function convert(value: string | null | undefined, how: Conversion): unknown {
  const empty = value === undefined || value === null || value === ''
  switch (how) {
    case 'text':
      return empty ? null : value
    case 'integer':
      return empty || Number.isNaN(Number.parseInt(value, 10)) ? null : Number.parseInt(value, 10)
    case 'integer0':
      return empty || Number.isNaN(Number.parseInt(value, 10)) ? 0 : Number.parseInt(value, 10)
    case 'attendance':
      // HubSpot keeps the seed's "Yes" / "No"; the replica speaks the API's values.
      return empty ? null : value === 'Yes' ? 'attended' : value === 'No' ? 'no_show' : value
    case 'day':
      return empty ? null : /^\d{4}-\d{2}-\d{2}$/.test(value) ? value : instant(value)!.slice(0, 10)
  }
}

/** What the replica row of a live HubSpot object must hold, mapped here and nowhere else. */
function expectedRow(kind: Kind, object: HubSpotObject): Record<string, unknown> {
  const row: Record<string, unknown> = {
    hubspot_id: object.id,
    created_at: instant(object.createdAt),
    updated_at: instant(object.updatedAt),
    hs_lastmodifieddate: instant(object.properties.hs_lastmodifieddate ?? object.updatedAt),
    deleted_at: null,
  }
  for (const [column, { property, how }] of Object.entries(COLUMNS[kind]))
    row[column] = convert(object.properties[property], how)
  return row
}

function actualRow(kind: Kind, row: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {
    hubspot_id: String(row.hubspot_id),
    created_at: instant(row.created_at),
    updated_at: instant(row.updated_at),
    hs_lastmodifieddate: instant(row.hs_lastmodifieddate),
    deleted_at: instant(row.deleted_at),
  }
  for (const [column, { how }] of Object.entries(COLUMNS[kind]))
    out[column] = how === 'day' && row[column] !== null ? String(instant(row[column])).slice(0, 10) : row[column]
  return out
}

export async function hubspotObjects(target: string | { url: string }, kind: Kind, token?: string) {
  return listAll(target, kind, [...Object.values(COLUMNS[kind]).map((c) => c.property), 'hs_lastmodifieddate'], token)
}

/** Every live HubSpot object is in the replica with exactly these values, and nothing else is live there. */
export async function expectReplicaMatches(db: Queryable, emulator: string | { url: string }): Promise<void> {
  for (const kind of ['exams', 'bookings'] as const) {
    const expected = new Map((await hubspotObjects(emulator, kind)).map((o) => [o.id, expectedRow(kind, o)]))
    const { rows } = await db.query<{ row: Record<string, unknown> }>(
      `SELECT to_jsonb(t) AS row FROM ${TABLE[kind]} t WHERE deleted_at IS NULL`,
    )
    const actual = new Map(rows.map(({ row }) => [String(row.hubspot_id), actualRow(kind, row)]))
    expect([...actual.keys()].sort(), `${kind} ids`).toEqual([...expected.keys()].sort())
    for (const [id, record] of expected) expect(actual.get(id), `${kind} ${id}`).toEqual(record)
  }
}

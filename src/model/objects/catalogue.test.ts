// The field catalogue's own rules: unique names, codecs that round-trip, and every derived description in step with it.
import { buildSchema, GraphQLObjectType } from 'graphql'
import { describe, expect, it } from 'vitest'
import { SDL } from '../../http/graphql-schema.js'
import { BOOKING_FIELDS } from './booking.js'
import { EXAM_FIELDS } from './exam.js'
import {
  blankRecord,
  columnTypes,
  csvColumns,
  encodeProperties,
  decodeProperties,
  hubspotProperties,
  tableColumns,
  type Fields,
} from './field.js'
import { bookingCreate, bookingRecord, attendancePatch } from '../contract/bookings.js'
import { examCreate, examPatch, examRecord } from '../contract/exams.js'
import { BOOKING_CSV_COLUMNS, EXAM_CSV_COLUMNS } from '../contract/exports.js'

const OBJECTS = [
  {
    name: 'booking',
    fields: BOOKING_FIELDS as Fields,
    record: bookingRecord,
    create: bookingCreate,
    update: attendancePatch,
    csv: BOOKING_CSV_COLUMNS,
    graphql: 'Booking',
  },
  {
    name: 'exam',
    fields: EXAM_FIELDS as Fields,
    record: examRecord,
    create: examCreate,
    update: examPatch,
    csv: EXAM_CSV_COLUMNS,
    graphql: 'Exam',
  },
]

/** Sample values each codec must carry to HubSpot and back unchanged. */
const SAMPLES: Record<string, unknown[]> = {
  text: [null, 'Mississauga', 'Renée "quoted", with commas'],
  integer: [null, 0, 1, 250],
  integer0: [0, 7],
  day: [null, '2026-03-02'],
  attendance: [null, 'attended', 'no_show'],
}

const unwrapShape = (schema: unknown): Record<string, unknown> => {
  // z.strictObject(...).refine(...) keeps its shape on the inner object.
  const s = schema as { shape?: Record<string, unknown>; def?: { schema?: unknown; in?: unknown } }
  return s.shape ?? unwrapShape(s.def?.schema ?? s.def?.in)
}

describe.each(OBJECTS)('the $name catalogue', ({ fields, record, create, update, csv, graphql }) => {
  const list = Object.entries(fields)

  it('names each HubSpot property and each replica column once', () => {
    const properties = list.map(([, f]) => f.property)
    expect(new Set(properties).size).toBe(properties.length)
    expect(properties.every((p) => /^[a-z][a-z0-9_]*$/.test(p))).toBe(true)
    const columns = tableColumns(fields)
    expect(new Set(columns).size).toBe(columns.length)
    expect(properties).not.toContain('hs_lastmodifieddate')
    expect(new Set(hubspotProperties(fields)).size).toBe(hubspotProperties(fields).length)
  })

  it('codecs round-trip: value → HubSpot string → value; "" and absent read as empty', () => {
    for (const [name, field] of list) {
      for (const value of SAMPLES[field.codec.kind]!) {
        const encoded = field.codec.encode(value as never)
        expect(typeof encoded, name).toBe('string')
        expect(field.codec.decode(encoded), `${name}: ${String(value)}`).toEqual(value)
      }
      expect(field.codec.decode(''), name).toEqual(field.codec.decode(undefined))
      expect(field.codec.decode(null), name).toEqual(field.codec.decode(undefined))
    }
  })

  it('decodes what HubSpot may hold: epoch ms and date-times as days, the seed attendance values', () => {
    if (fields === (BOOKING_FIELDS as Fields)) {
      expect(decodeProperties(BOOKING_FIELDS, { attendance: 'Yes' }).attendance).toBe('attended')
      expect(decodeProperties(BOOKING_FIELDS, { attendance: 'No' }).attendance).toBe('no_show')
      expect(decodeProperties(BOOKING_FIELDS, { attendance: 'Maybe' }).attendance).toBe('Maybe')
      expect(encodeProperties(BOOKING_FIELDS, { attendance: 'attended', dominant_hand: null })).toEqual({
        attendance: 'Yes',
        dominant_hand: '',
      })
    } else {
      const exam = decodeProperties(EXAM_FIELDS, { exam_date: String(Date.UTC(2026, 2, 2, 9)), capacity: 'x' })
      expect(exam).toMatchObject({ exam_date: '2026-03-02', capacity: null, total_bookings: 0 })
    }
  })

  it('the record schema lists hubspot_id, every field, then the lifecycle and versioning columns', () => {
    expect(Object.keys(record.shape)).toEqual(tableColumns(fields))
    expect(Object.keys(columnTypes(fields))).toEqual([...list.map(([name]) => name), 'created_at', 'updated_at'])
  })

  it('writable fields, and only those, are in the create and update bodies', () => {
    const createShape = Object.keys(unwrapShape(create))
    const updateShape = Object.keys(unwrapShape(update))
    for (const [name, field] of list) {
      expect(createShape.includes(name), `${name} in create`).toBe(field.create !== undefined)
      expect(updateShape.includes(name), `${name} in update`).toBe(field.update !== undefined)
    }
    expect(createShape.filter((key) => !(key in fields))).toEqual(
      fields === (BOOKING_FIELDS as Fields) ? ['examId'] : [],
    )
  })

  it('a blank record has every field, the empty value of its codec', () => {
    const blank = blankRecord(fields, '1')
    expect(Object.keys(blank).sort()).toEqual(
      tableColumns(fields)
        .filter((c) => c !== 'synced_at')
        .sort(),
    )
    expect(record.safeParse(blank).success).toBe(true)
  })

  it('the CSV columns are the exported fields between hubspot_id and created_at/updated_at', () => {
    expect(csvColumns(fields)).toEqual(csv)
    for (const [name, field] of list) expect(csv.includes(name), name).toBe(field.csv)
  })

  it('the GraphQL type has every record field with the catalogue scalar', () => {
    const type = buildSchema(SDL).getType(graphql) as GraphQLObjectType
    const served = type.getFields()
    expect(Object.keys(served)).toEqual(tableColumns(fields))
    for (const [name, field] of list) expect(String(served[name]!.type), name).toBe(field.graphql)
  })
})

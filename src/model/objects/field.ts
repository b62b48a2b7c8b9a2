// The field catalogue's building blocks: one descriptor per field of an object, and what is derived from a list of them.
import { z } from 'zod'

/** Postgres types of the replica's columns. */
export type ColumnType = 'text' | 'integer' | 'date' | 'timestamptz'
/** HubSpot's property types, as the emulated portal defines them. */
export type PropertyType = 'string' | 'number' | 'date'
/** The GraphQL scalar a field is served as. */
export type GraphqlType = 'String' | 'Int' | 'ID'

/**
 * How a field's value travels as a HubSpot property (HubSpot holds every property as a string,
 * and "" clears one). `decode` turns what HubSpot holds into the record's value; `encode` the
 * other way, null to "" (clear).
 */
export interface Codec<Value> {
  kind: CodecKind
  decode(raw: string | null | undefined): Value
  encode(value: Value | null): string
}
export type CodecKind = 'text' | 'integer' | 'integer0' | 'day' | 'attendance'

/** One field of an object, written once: every other description of the object is derived from these. */
export interface FieldDef<Value = unknown> {
  /** The record's value as the API serves it (and the record type is inferred from). */
  record: z.ZodType<Value>
  /** HubSpot's property name. */
  property: string
  codec: Codec<Value>
  /** The replica column: its name is the field's, this is its Postgres type. */
  column: ColumnType
  /** HubSpot's property type in the portal (the emulator defines it so). */
  propertyType: PropertyType
  /** HubSpot enforces unique values (the idempotency key). */
  unique?: boolean
  /** Accepted in the create body, with its rule (optional fields say so with `.optional()`). */
  create?: z.ZodType
  /** Accepted in the update body, with its rule (always optional there). */
  update?: z.ZodType
  /** A column of the CSV export. */
  csv: boolean
  graphql: GraphqlType
  description?: string
}

export type Fields = Record<string, FieldDef<unknown>>

const empty = (raw: string | null | undefined): raw is null | undefined | '' =>
  raw === undefined || raw === null || raw === ''
const encodeAny = (value: unknown): string => (value === null || value === undefined ? '' : String(value))

export const textCodec: Codec<string | null> = {
  kind: 'text',
  decode: (raw) => (empty(raw) ? null : raw),
  encode: encodeAny,
}

export const integerCodec: Codec<number | null> = {
  kind: 'integer',
  decode: (raw) => {
    const parsed = Number.parseInt(raw ?? '', 10)
    return Number.isFinite(parsed) ? parsed : null
  },
  encode: encodeAny,
}

/** A count HubSpot may leave unset: unset reads as 0. */
export const integer0Codec: Codec<number> = {
  kind: 'integer0',
  decode: (raw) => integerCodec.decode(raw) ?? 0,
  encode: encodeAny,
}

/** A HubSpot time (ISO 8601, or epoch milliseconds as digits) in epoch ms; NaN when unreadable. */
export function hubspotTimeMs(raw: string | null | undefined): number {
  return /^\d+$/.test(raw ?? '') ? Number(raw) : Date.parse(raw ?? '')
}

/** HubSpot dates may come as YYYY-MM-DD, ISO date-times or epoch milliseconds; the record holds YYYY-MM-DD. */
export const dayCodec: Codec<string | null> = {
  kind: 'day',
  decode: (raw) => {
    if (empty(raw)) return null
    if (/^\d{4}-\d{2}-\d{2}$/.test(raw)) return raw
    const ms = hubspotTimeMs(raw)
    return Number.isFinite(ms) ? new Date(ms).toISOString().slice(0, 10) : null
  },
  encode: encodeAny,
}

/**
 * An enum HubSpot keeps in values of its own (other tools read them there): `inHubSpot` maps the
 * API's value to HubSpot's. Any other value HubSpot holds passes through as it is.
 */
export function enumCodec<Value extends string>(
  kind: CodecKind,
  inHubSpot: Record<Value, string>,
): Codec<string | null> {
  const fromHubSpot = new Map(Object.entries<string>(inHubSpot).map(([api, hs]) => [hs, api]))
  return {
    kind,
    decode: (raw) => (empty(raw) ? null : (fromHubSpot.get(raw) ?? raw)),
    encode: (value) => (value === null ? '' : ((inHubSpot as Record<string, string>)[value] ?? value)),
  }
}

const TEXT = {
  record: z.string().nullable(),
  property: '',
  codec: textCodec,
  column: 'text',
  propertyType: 'string',
  csv: true,
  graphql: 'String',
} as const satisfies FieldDef<string | null>

/** A text field HubSpot holds as a string property (the common case); `options` says how it differs. */
export function textField<const Options extends Partial<FieldDef<string | null>> & { property: string }>(
  options: Options,
): Omit<typeof TEXT, keyof Options> & Options {
  return { ...TEXT, ...options }
}

/** Trimmed, non-empty text of at most `max` characters: the rule for names and places. */
export const name = (max: number) =>
  z.string().trim().min(1, 'must not be empty').max(max, `must be at most ${max} characters`)

/** The record's value type of a field. */
type ValueOf<F> = F extends { record: z.ZodType } ? z.output<F['record']> : never

/** The fields every replicated record has around its catalogue fields, in the API's order. */
export interface Lifecycle {
  created_at: string | null
  updated_at: string | null
  /** ISO 8601; the version of the row, compared so that upserts never go backwards */
  hs_lastmodifieddate: string
  deleted_at: string | null
}

/** A record as the replica stores it: hubspot_id, the catalogue's fields, the lifecycle fields. */
export type RecordOf<F extends Fields> = { hubspot_id: string } & {
  -readonly [K in keyof F]: ValueOf<F[K]>
} & Lifecycle

/** Each field with its name, in catalogue order. */
export function entries<F extends Fields>(fields: F): Array<[keyof F & string, FieldDef]> {
  return Object.entries(fields) as Array<[keyof F & string, FieldDef]>
}

/** The lifecycle columns' Postgres types (created_at and updated_at follow the catalogue's fields). */
export const LIFECYCLE_COLUMNS = { created_at: 'timestamptz', updated_at: 'timestamptz' } as const
/** The versioning columns every replica table carries after its fields. */
export const VERSIONING_COLUMNS = {
  hs_lastmodifieddate: 'timestamptz',
  deleted_at: 'timestamptz',
  synced_at: 'timestamptz',
} as const

/** The zod shape of the record: what the API serves. */
export function recordShape<F extends Fields>(fields: F) {
  const text = z.string().nullable()
  return {
    hubspot_id: z.string(),
    ...(Object.fromEntries(
      entries(fields).map(([key, field]) => [
        key,
        field.description ? field.record.meta({ description: field.description }) : field.record,
      ]),
    ) as { [K in keyof F]: z.ZodType<ValueOf<F[K]>> }),
    created_at: text,
    updated_at: text,
    hs_lastmodifieddate: z.string().meta({ description: 'ISO 8601; the version of the row' }),
    deleted_at: text,
    synced_at: text.optional().meta({ description: 'when the replica last wrote the row (reads only)' }),
  }
}

type Writable<F extends Fields, Mode extends 'create' | 'update'> = {
  [K in keyof F as F[K] extends { [M in Mode]: z.ZodType } ? K : never]: F[K] extends {
    [M in Mode]: infer Rule extends z.ZodType
  }
    ? Rule
    : never
}

/** The zod shape of the fields a client may set on create (or update). */
export function writableShape<F extends Fields, Mode extends 'create' | 'update'>(
  fields: F,
  mode: Mode,
): Writable<F, Mode> {
  return Object.fromEntries(
    entries(fields).flatMap(([key, field]) => (field[mode] ? [[key, field[mode]]] : [])),
  ) as Writable<F, Mode>
}

/** The HubSpot properties a read requests: every field's, and the versioning HubSpot keeps. */
export function hubspotProperties(fields: Fields): string[] {
  return [...entries(fields).map(([, field]) => field.property), 'hs_lastmodifieddate', 'hs_createdate']
}

/** A record's catalogue fields from HubSpot's all-string properties. */
export function decodeProperties<F extends Fields>(
  fields: F,
  properties: Record<string, string | null | undefined>,
): { [K in keyof F]: ValueOf<F[K]> } {
  const out: Record<string, unknown> = {}
  for (const [key, field] of entries(fields)) out[key] = field.codec.decode(properties[field.property])
  return out as { [K in keyof F]: ValueOf<F[K]> }
}

/**
 * HubSpot properties from some of a record's fields: each by its codec, null sent as "" (which
 * clears the property); undefined and names outside the catalogue are left out.
 */
export function encodeProperties(fields: Fields, values: Record<string, unknown>): Record<string, string> {
  const properties: Record<string, string> = {}
  for (const [key, field] of entries(fields)) {
    const value = values[key]
    if (value === undefined) continue
    properties[field.property] = field.codec.encode(value as never)
  }
  return properties
}

/** The replica columns of the catalogue's fields, with their types, then created_at and updated_at. */
export function columnTypes(fields: Fields): Record<string, string> {
  return { ...Object.fromEntries(entries(fields).map(([key, field]) => [key, field.column])), ...LIFECYCLE_COLUMNS }
}

/** Every column of the replica table: hubspot_id, the fields, the lifecycle and versioning columns. */
export function tableColumns(fields: Fields): string[] {
  return ['hubspot_id', ...Object.keys(columnTypes(fields)), ...Object.keys(VERSIONING_COLUMNS)]
}

/** The CSV columns: hubspot_id, the exported fields, created_at and updated_at. */
export function csvColumns(fields: Fields): string[] {
  return [
    'hubspot_id',
    ...entries(fields).flatMap(([key, field]) => (field.csv ? [key] : [])),
    'created_at',
    'updated_at',
  ]
}

/**
 * A record with every catalogue field null (or its codec's empty value) and the lifecycle filled:
 * builders of whole records (tests, benches) start from it, so a field added to the catalogue
 * needs no change there.
 */
export function blankRecord<F extends Fields>(
  fields: F,
  hubspotId: string,
  overrides: Partial<RecordOf<F>> = {},
): RecordOf<F> {
  const now = new Date().toISOString()
  return {
    hubspot_id: hubspotId,
    ...decodeProperties(fields, {}),
    created_at: now,
    updated_at: now,
    hs_lastmodifieddate: now,
    deleted_at: null,
    ...overrides,
  } as RecordOf<F>
}

/** The GraphQL object type of a record. */
export function graphqlType(typeName: string, description: string, fields: Fields): string {
  const lines = [
    'hubspot_id: ID!',
    ...entries(fields).map(([key, field]) => `${key}: ${field.graphql}`),
    ...['created_at', 'updated_at', ...Object.keys(VERSIONING_COLUMNS)].map((key) => `${key}: String`),
  ]
  return `  "${description}"\n  type ${typeName} {\n${lines.map((line) => `    ${line}\n`).join('')}  }\n`
}

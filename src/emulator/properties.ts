// Validating property values on the way in and shaping records on the way out, as HubSpot does.
import { propertyError, validationError, type PropertyProblem } from './errors.js'
import type { ObjectDef, PropertyDef } from './schema.js'
import { propertyHistory, type Props, type Rec, type View } from './store.js'

const MAX_STRING = 65_536
const DATE = /^(\d{4})-(\d{2})-(\d{2})$/

export type Changes = Record<string, string | null>

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

/** The `properties` object of a write, checked and normalised; `null` means "clear". */
export function parseProperties(def: ObjectDef, input: unknown): Changes {
  if (input === undefined || input === null) return {}
  if (!isPlainObject(input)) {
    throw validationError('Invalid input JSON: "properties" must be an object of property name to string value')
  }
  const changes: Changes = {}
  const problems: PropertyProblem[] = []
  for (const [name, raw] of Object.entries(input)) {
    const prop = def.properties.get(name)
    if (!prop) {
      problems.push({ name, code: 'PROPERTY_DOESNT_EXIST', message: `Property "${name}" does not exist` })
    } else if (prop.readOnly) {
      problems.push({
        name,
        code: 'READ_ONLY_VALUE',
        message: `${name} is a read only property; its value cannot be set.`,
      })
    } else {
      const value = normalise(prop, raw, problems)
      if (value !== undefined) changes[name] = value
    }
  }
  if (problems.length) throw propertyError(problems)
  return changes
}

function normalise(prop: PropertyDef, raw: unknown, problems: PropertyProblem[]): string | null | undefined {
  if (raw === null) return null
  if (typeof raw === 'object') {
    problems.push({
      name: prop.name,
      code: 'INVALID_TYPE',
      message: `${JSON.stringify(raw).slice(0, 100)} is not a valid value for ${prop.name}; values must be strings`,
    })
    return undefined
  }
  const text = String(raw)
  if (text === '') return null
  if (prop.type === 'number') return numberValue(prop, text, problems)
  if (prop.type === 'date') return dateValue(prop, text, problems)
  if (text.length > MAX_STRING) {
    problems.push({
      name: prop.name,
      code: 'INVALID_STRING_LENGTH',
      message: `${prop.name} is longer than ${MAX_STRING} characters`,
    })
    return undefined
  }
  return text
}

function numberValue(prop: PropertyDef, text: string, problems: PropertyProblem[]): string | undefined {
  const trimmed = text.trim()
  const value = Number(trimmed)
  if (!/^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$/.test(trimmed) || !Number.isFinite(value)) {
    problems.push({
      name: prop.name,
      code: 'INVALID_INTEGER',
      message: `${text.slice(0, 100)} was not a valid number.`,
    })
    return undefined
  }
  return String(value)
}

function dateValue(prop: PropertyDef, text: string, problems: PropertyProblem[]): string | undefined {
  const iso = toIsoDate(text)
  if (iso) return iso
  problems.push({
    name: prop.name,
    code: 'INVALID_DATE',
    message: `${text.slice(0, 100)} is not a valid date for ${prop.name}; use YYYY-MM-DD or epoch milliseconds at midnight UTC`,
  })
  return undefined
}

/** A date property's value from 'YYYY-MM-DD' or epoch ms at midnight UTC; null when neither. */
export function toIsoDate(text: string): string | null {
  const match = DATE.exec(text)
  if (match) {
    const ms = Date.UTC(Number(match[1]), Number(match[2]) - 1, Number(match[3]))
    return new Date(ms).toISOString().slice(0, 10) === text ? text : null
  }
  if (/^\d+$/.test(text)) {
    const ms = Number(text)
    return ms % 86_400_000 === 0 ? new Date(ms).toISOString().slice(0, 10) : null
  }
  return null
}

/** Query values may repeat (`?properties=a&properties=b`) or use commas (`properties=a,b`). */
export function nameList(values: string[] | undefined): string[] | null {
  if (!values || values.length === 0) return null
  const names: string[] = []
  for (const value of values) for (const name of value.split(',')) if (name.trim()) names.push(name.trim())
  return names.length ? names : null
}

const isoCache = new Map<number, string>()

/** Memoised: the same few timestamps are formatted on every read of a record. */
export function iso(ms: number): string {
  let text = isoCache.get(ms)
  if (text === undefined) {
    text = new Date(ms).toISOString()
    if (isoCache.size >= 200_000) isoCache.clear()
    isoCache.set(ms, text)
  }
  return text
}

/** A property value as HubSpot reports it, reading system properties off the record. */
export function propertyValue(rec: Rec, props: Props, updatedAt: number, name: string): string | undefined {
  const def = rec.def
  if (name === 'hs_object_id') return rec.id
  if (name === def.createdProp) return iso(rec.createdAt)
  if (name === def.modifiedProp) return iso(updatedAt)
  return props[name]
}

export function presentProperties(
  rec: Rec,
  names: string[] | null,
  props: Props = rec.props,
  updatedAt = rec.updatedAt,
): Record<string, string | null> {
  const def = rec.def
  const out: Record<string, string | null> = {}
  for (const name of names ?? def.defaultProperties) {
    if (def.properties.has(name)) out[name] = propertyValue(rec, props, updatedAt, name) ?? null
  }
  out[def.createdProp] = iso(rec.createdAt)
  out[def.modifiedProp] = iso(updatedAt)
  out.hs_object_id = rec.id
  return out
}

export interface PresentOptions {
  properties: string[] | null
  withHistory?: string[] | null
}

export function presentRecord(rec: Rec, options: PresentOptions): Record<string, unknown> {
  const out: Record<string, unknown> = {
    id: rec.id,
    properties: presentProperties(rec, options.properties),
    createdAt: iso(rec.createdAt),
    updatedAt: iso(rec.updatedAt),
    archived: rec.archived,
  }
  if (rec.archived && rec.archivedAt !== null) out.archivedAt = iso(rec.archivedAt)
  if (options.withHistory) out.propertiesWithHistory = history(rec, options.withHistory)
  return out
}

/** Each requested property's versions, newest first, as HubSpot's `propertiesWithHistory`. */
function history(rec: Rec, names: string[]): Record<string, unknown[]> {
  const out: Record<string, unknown[]> = {}
  for (const name of names) {
    if (!rec.def.properties.has(name)) continue
    const versions = propertyHistory(rec, name)
    if (versions.length === 0) {
      // Computed properties (hs_object_id, hs_lastmodifieddate, …): their one current version.
      const value = propertyValue(rec, rec.props, rec.updatedAt, name)
      out[name] = value === undefined ? [] : [{ value, timestamp: iso(rec.updatedAt), sourceType: 'CALCULATED' }]
      continue
    }
    out[name] = versions.map(({ value, timestamp, ...source }) => ({ value, timestamp: iso(timestamp), ...source }))
  }
  return out
}

/** Search results show the lagging view and never carry `archivedAt`. */
export function presentView(rec: Rec, view: View, names: string[] | null): Record<string, unknown> {
  return {
    id: rec.id,
    properties: presentProperties(rec, names, view.props, view.updatedAt),
    createdAt: iso(rec.createdAt),
    updatedAt: iso(view.updatedAt),
    archived: false,
  }
}

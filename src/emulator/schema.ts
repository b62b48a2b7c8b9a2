// The emulated portal's object types, their property definitions and how a path segment names them.
import { BOOKING_FIELDS } from '../model/objects/booking.js'
import { EXAM_FIELDS } from '../model/objects/exam.js'
import type { Fields } from '../model/objects/field.js'

export const MOCK_EXAMS_OBJECT_TYPE_ID = '2-50001'
export const BOOKINGS_OBJECT_TYPE_ID = '2-50002'
export const CONTACTS_OBJECT_TYPE_ID = '0-1'
export const DEFAULT_PORTAL_ID = 24_681_357

export type PropertyType = 'string' | 'number' | 'date' | 'datetime'

export interface PropertyDef {
  name: string
  label: string
  type: PropertyType
  unique: boolean
  readOnly: boolean
}

export interface ObjectDef {
  objectTypeId: string
  name: string
  singular: string
  labels: { singular: string; plural: string }
  custom: boolean
  properties: Map<string, PropertyDef>
  /** the creation and modification timestamps differ by object (contacts use the legacy names) */
  createdProp: string
  modifiedProp: string
  /** returned when a read names no properties */
  defaultProperties: string[]
  /** searched by a free-text `query` */
  queryProperties: string[]
  uniqueProperties: string[]
  primaryDisplayProperty: string
}

type Spec = [name: string, type?: PropertyType, unique?: boolean]

/** The custom objects' properties, as the product's field catalogue defines them (the portal the product expects). */
function catalogueSpecs(fields: Fields): Spec[] {
  return Object.values(fields).map((field) => [field.property, field.propertyType, field.unique === true])
}
const EXAM_PROPS = catalogueSpecs(EXAM_FIELDS)
const BOOKING_PROPS = catalogueSpecs(BOOKING_FIELDS)
const CONTACT_PROPS: Spec[] = [['firstname'], ['lastname'], ['email', 'string', true], ['phone'], ['student_id']]

function labelOf(name: string): string {
  return name
    .split('_')
    .map((w) => w.charAt(0).toUpperCase() + w.slice(1))
    .join(' ')
}

function propertyMap(specs: Spec[], createdProp: string, modifiedProp: string): Map<string, PropertyDef> {
  const map = new Map<string, PropertyDef>()
  for (const [name, type = 'string', unique = false] of specs) {
    map.set(name, { name, label: labelOf(name), type, unique, readOnly: false })
  }
  for (const name of ['hs_object_id', createdProp, modifiedProp]) {
    const type: PropertyType = name === 'hs_object_id' ? 'number' : 'datetime'
    map.set(name, { name, label: labelOf(name), type, unique: name === 'hs_object_id', readOnly: true })
  }
  return map
}

function objectDef(
  objectTypeId: string,
  name: string,
  singular: string,
  specs: Spec[],
  contactLike: boolean,
): ObjectDef {
  const createdProp = contactLike ? 'createdate' : 'hs_createdate'
  const modifiedProp = contactLike ? 'lastmodifieddate' : 'hs_lastmodifieddate'
  const properties = propertyMap(specs, createdProp, modifiedProp)
  const system = [createdProp, modifiedProp, 'hs_object_id']
  const strings = specs.filter(([, type = 'string']) => type === 'string').map(([n]) => n)
  return {
    objectTypeId,
    name,
    singular,
    custom: !contactLike,
    properties,
    createdProp,
    modifiedProp,
    labels: { singular: labelOf(singular), plural: labelOf(name) },
    defaultProperties: contactLike ? ['firstname', 'lastname', 'email', ...system] : system,
    queryProperties: contactLike ? ['firstname', 'lastname', 'email', 'phone'] : strings,
    uniqueProperties: specs.filter(([, , unique]) => unique).map(([n]) => n),
    primaryDisplayProperty: specs[0]![0],
  }
}

export const OBJECT_DEFS: readonly ObjectDef[] = [
  objectDef(CONTACTS_OBJECT_TYPE_ID, 'contacts', 'contact', CONTACT_PROPS, true),
  objectDef(MOCK_EXAMS_OBJECT_TYPE_ID, 'mock_exams', 'mock_exam', EXAM_PROPS, false),
  objectDef(BOOKINGS_OBJECT_TYPE_ID, 'bookings', 'booking', BOOKING_PROPS, false),
]

export const [CONTACTS, MOCK_EXAMS, BOOKINGS] = OBJECT_DEFS as [ObjectDef, ObjectDef, ObjectDef]

/** Every spelling HubSpot accepts for an object type: name, singular, `p_name`, `p{portal}_name`, id. */
export function objectTypeResolver(portalId: number): (segment: string) => ObjectDef | undefined {
  const names = new Map<string, ObjectDef>()
  for (const def of OBJECT_DEFS) {
    const spellings = [def.objectTypeId, def.name, def.singular]
    if (def.custom) spellings.push(`p_${def.name}`, `p${portalId}_${def.name}`)
    for (const spelling of spellings) names.set(spelling.toLowerCase(), def)
  }
  return (segment) => names.get(segment) ?? names.get(segment.toLowerCase())
}

export interface AssociationType {
  from: ObjectDef
  to: ObjectDef
  typeId: number
  category: 'HUBSPOT_DEFINED'
}

const ASSOCIATION_PAIRS: [ObjectDef, ObjectDef, number][] = [
  [BOOKINGS, MOCK_EXAMS, 1101],
  [MOCK_EXAMS, BOOKINGS, 1102],
  [BOOKINGS, CONTACTS, 1103],
  [CONTACTS, BOOKINGS, 1104],
  [MOCK_EXAMS, CONTACTS, 1105],
  [CONTACTS, MOCK_EXAMS, 1106],
]

export const ASSOCIATION_TYPES: readonly AssociationType[] = ASSOCIATION_PAIRS.map(([from, to, typeId]) => ({
  from,
  to,
  typeId,
  category: 'HUBSPOT_DEFINED',
}))

export function defaultAssociationType(from: ObjectDef, to: ObjectDef): AssociationType | undefined {
  return ASSOCIATION_TYPES.find((t) => t.from === from && t.to === to)
}

export function associationTypeById(typeId: number): AssociationType | undefined {
  return ASSOCIATION_TYPES.find((t) => t.typeId === typeId)
}

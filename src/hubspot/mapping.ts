// Typed mapping between HubSpot objects (all-string properties) and replica records, derived from the field catalogue.
import { BOOKING_FIELDS } from '../model/objects/booking.js'
import { EXAM_FIELDS } from '../model/objects/exam.js'
import { decodeProperties, encodeProperties, hubspotProperties, hubspotTimeMs } from '../model/objects/field.js'
import type { BookingRecord, ExamRecord } from '../model/records.js'
import type { HubSpotObject } from './client.js'

/** The properties a read requests: the catalogue's, and the versioning HubSpot keeps. */
export const EXAM_PROPERTIES: readonly string[] = hubspotProperties(EXAM_FIELDS)
export const BOOKING_PROPERTIES: readonly string[] = hubspotProperties(BOOKING_FIELDS)

export { hubspotTimeMs }

/** hs_lastmodifieddate (or updatedAt) in epoch ms; 0 when unreadable. */
export function modifiedMs(object: HubSpotObject): number {
  const ms = hubspotTimeMs(object.properties.hs_lastmodifieddate ?? object.updatedAt)
  return Number.isFinite(ms) ? ms : 0
}

function version(object: HubSpotObject): string {
  const ms = hubspotTimeMs(object.properties.hs_lastmodifieddate ?? object.updatedAt)
  return new Date(Number.isFinite(ms) ? ms : Date.now()).toISOString()
}

/**
 * The fields every record has. The typed fields are assigned onto it rather than spread after it:
 * V8 builds `{ ...lifecycle, a, b, … }` with a dozen more fields some twenty times slower, and
 * this runs once per object the backfill writes.
 */
function lifecycle(object: HubSpotObject) {
  return {
    hubspot_id: object.id,
    created_at: object.createdAt ?? null,
    updated_at: object.updatedAt ?? null,
    hs_lastmodifieddate: version(object),
    deleted_at: object.archived ? (object.archivedAt ?? new Date().toISOString()) : null,
  }
}

export function examFromHubSpot(object: HubSpotObject): ExamRecord {
  return Object.assign(lifecycle(object), decodeProperties(EXAM_FIELDS, object.properties))
}

export function bookingFromHubSpot(object: HubSpotObject): BookingRecord {
  return Object.assign(lifecycle(object), decodeProperties(BOOKING_FIELDS, object.properties))
}

/** Booking fields → HubSpot properties, each by its catalogue codec (null clears; undefined is left out). */
export function bookingToProperties(
  fields: Partial<Record<keyof typeof BOOKING_FIELDS, unknown>>,
): Record<string, string> {
  return encodeProperties(BOOKING_FIELDS, fields)
}

/** Record fields → HubSpot properties: strings, with null sent as "" (which clears the property). */
export function toProperties(
  fields: Record<string, string | number | boolean | null | undefined>,
): Record<string, string> {
  const properties: Record<string, string> = {}
  for (const [key, value] of Object.entries(fields)) {
    if (value === undefined) continue
    properties[key] = value === null ? '' : String(value)
  }
  return properties
}

// Typed mapping between HubSpot objects (all-string properties) and replica records.
import type { Attendance, BookingRecord, ExamRecord } from '../model/records.js'
import type { HubSpotObject } from './client.js'

export const EXAM_PROPERTIES = [
  'mock_exam_name',
  'mock_type',
  'exam_date',
  'start_time',
  'end_time',
  'location',
  'capacity',
  'total_bookings',
  'is_active',
  'hs_lastmodifieddate',
  'hs_createdate',
] as const
export const BOOKING_PROPERTIES = [
  'booking_id',
  'mock_exam_id',
  'contact_id',
  'student_id',
  'student_name',
  'student_email',
  'booking_status',
  'is_active',
  'attendance',
  'attending_location',
  'exam_date',
  'dominant_hand',
  'hs_lastmodifieddate',
  'hs_createdate',
] as const

const text = (value: string | null | undefined): string | null =>
  value === undefined || value === null || value === '' ? null : value

function integer(value: string | null | undefined): number | null {
  const parsed = Number.parseInt(value ?? '', 10)
  return Number.isFinite(parsed) ? parsed : null
}

/** HubSpot dates may come as YYYY-MM-DD, ISO date-times or epoch milliseconds. */
function isoDay(value: string | null | undefined): string | null {
  const raw = text(value)
  if (!raw) return null
  if (/^\d{4}-\d{2}-\d{2}$/.test(raw)) return raw
  const ms = hubspotTimeMs(raw)
  return Number.isFinite(ms) ? new Date(ms).toISOString().slice(0, 10) : null
}

/** A HubSpot time (ISO 8601, or epoch milliseconds as digits) in epoch ms; NaN when unreadable. */
export function hubspotTimeMs(raw: string | null | undefined): number {
  return /^\d+$/.test(raw ?? '') ? Number(raw) : Date.parse(raw ?? '')
}

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
  const p = object.properties
  return Object.assign(lifecycle(object), {
    mock_exam_name: text(p.mock_exam_name),
    mock_type: text(p.mock_type),
    exam_date: isoDay(p.exam_date),
    start_time: text(p.start_time),
    end_time: text(p.end_time),
    location: text(p.location),
    capacity: integer(p.capacity),
    total_bookings: integer(p.total_bookings) ?? 0,
    is_active: text(p.is_active),
  })
}

export function bookingFromHubSpot(object: HubSpotObject): BookingRecord {
  const p = object.properties
  return Object.assign(lifecycle(object), {
    booking_id: text(p.booking_id),
    mock_exam_id: text(p.mock_exam_id),
    contact_id: text(p.contact_id),
    student_id: text(p.student_id),
    student_name: text(p.student_name),
    student_email: text(p.student_email),
    booking_status: text(p.booking_status),
    is_active: text(p.is_active),
    attendance: attendanceFromHubSpot(p.attendance),
    attending_location: text(p.attending_location),
    exam_date: isoDay(p.exam_date),
    dominant_hand: text(p.dominant_hand),
  })
}

/**
 * The seed keeps attendance in HubSpot as "Yes" / "No" (other tools read it there); the API speaks
 * `attended` / `no_show`. Any other value HubSpot holds passes through as it is.
 */
const ATTENDANCE_IN_HUBSPOT: Record<Attendance, string> = { attended: 'Yes', no_show: 'No' }

function attendanceFromHubSpot(value: string | null | undefined): string | null {
  const raw = text(value)
  if (raw === 'Yes') return 'attended'
  if (raw === 'No') return 'no_show'
  return raw
}

/** The HubSpot value of an attendance; null clears it. */
export function attendanceToHubSpot(value: Attendance | null): string | null {
  return value === null ? null : ATTENDANCE_IN_HUBSPOT[value]
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

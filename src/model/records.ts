// The shared vocabulary: the shape of a mock exam and a booking as rows, API bodies and events.
// Types and constants only, so every part may import it without breaking the layering.

/** A mock exam as stored in the replica and served by the API (seed field names plus hubspot_id). */
export interface ExamRecord {
  hubspot_id: string
  mock_exam_name: string | null
  mock_type: string | null
  /** YYYY-MM-DD */
  exam_date: string | null
  /** HH:MM, 24-hour */
  start_time: string | null
  end_time: string | null
  location: string | null
  capacity: number | null
  total_bookings: number
  /** "true" | "false", text as in the seed */
  is_active: string | null
  created_at: string | null
  updated_at: string | null
  /** ISO 8601; the version of the row, compared so that upserts never go backwards */
  hs_lastmodifieddate: string
  deleted_at: string | null
}

export interface BookingRecord {
  hubspot_id: string
  booking_id: string | null
  mock_exam_id: string | null
  contact_id: string | null
  student_id: string | null
  student_name: string | null
  student_email: string | null
  booking_status: string | null
  is_active: string | null
  attendance: string | null
  attending_location: string | null
  exam_date: string | null
  dominant_hand: string | null
  created_at: string | null
  updated_at: string | null
  hs_lastmodifieddate: string
  deleted_at: string | null
}

export const BOOKING_STATUSES = ['confirmed', 'cancelled', 'completed', 'no_show'] as const
export type BookingStatus = (typeof BOOKING_STATUSES)[number]
/** Statuses that hold a seat against the exam's capacity. */
export const SEAT_HOLDING_STATUSES: readonly BookingStatus[] = ['confirmed', 'completed', 'no_show']

/** A booking's attendance as the API speaks it (null: not marked). HubSpot stores the seed's "Yes" / "No". */
export const ATTENDANCE_VALUES = ['attended', 'no_show'] as const
export type Attendance = (typeof ATTENDANCE_VALUES)[number]

export type ObjectKind = 'exam' | 'booking'

/** The object types the sync engine pulls and the replica keeps sync state for (the API's plural names). */
export const SYNC_TYPES = ['exams', 'bookings'] as const
export type SyncType = (typeof SYNC_TYPES)[number]

/**
 * The fields one change altered, each as `[old, new]` (old null for a record new to the replica).
 * Versioning columns (hs_lastmodifieddate, updated_at, synced_at) are left out: they change every time.
 */
export type FieldChanges = Record<string, [unknown, unknown]>

/**
 * Who made a change: a hubmirror write (the token's `sub`; null when it is not known, as for a
 * write recovered after a crash), or HubSpot, as a pull found it, with the property history's
 * `sourceType` / `sourceId` / `updatedByUserId` when HubSpot gave them.
 */
export type ChangeOrigin =
  | { kind: 'hubmirror'; subject: string | null }
  | { kind: 'hubspot'; source?: string; source_id?: string; user_id?: string }

/** One row of the change log as delivered to realtime subscribers. */
export interface ChangeEvent {
  seq: string
  kind: ObjectKind
  op: 'upsert' | 'delete'
  hubspot_id: string
  exam_id: string | null
  source: 'write' | 'sync' | 'manual'
  at: string
  /** null on events logged before field-level changes existed (migration 006). */
  changes: FieldChanges | null
  origin: ChangeOrigin | null
  row: ExamRecord | BookingRecord | null
}

/** One entry of a record's history (GET /api/bookings/:id/history): a change event without its row. */
export interface HistoryEntry {
  seq: string
  kind: ObjectKind
  op: 'upsert' | 'delete'
  hubspot_id: string
  exam_id: string | null
  source: ChangeEvent['source']
  at: string
  changes: FieldChanges | null
  origin: ChangeOrigin | null
}

/**
 * A change-log row as read back from the log: a ChangeEvent's envelope, with the row left as the
 * JSON text Postgres keeps (jsonb's output). Replays splice it into the wire JSON unparsed.
 */
export interface LoggedChangeEvent extends Omit<ChangeEvent, 'row'> {
  /** Valid JSON, an object or `null`, in jsonb's layout: `{"a": 1, "b": "x"}` (keys by length, then bytes). */
  rowJson: string
}

export interface SyncObjectStatus {
  cursor: string | null
  last_pull_at: string | null
  last_pull_ms: number | null
  rows: number
}

/** The body of GET /api/sync/status: what the sync engine reports and the dashboard draws. */
export interface SyncStatus {
  objects: { exams: SyncObjectStatus; bookings: SyncObjectStatus }
  /** How far behind HubSpot the replica may be: now minus the upper bound of the oldest last pull. */
  lag_ms: number | null
  pulling: boolean
  hubspot: {
    base_url: string
    limit_10s: number
    used_10s: number
    daily_limit: number
    used_daily: number
    search_limit_s: number
    rate_limited_total: number
    calls_total: number
  }
  drift: null | {
    checked_at: string
    missing_in_replica: number
    extra_in_replica: number
    stale_in_replica: number
    fixed: number
  }
  /** The reconcile running on this instance, if any (absent from engines that do not report it). */
  reconcile?: ReconcileProgress
  watchers: number
  /** The database connection: what DATABASE_URL is, and how wake-ups and locks work over it. */
  database: {
    kind: 'pg' | 'pglite'
    pool_mode: 'session' | 'transaction'
    pool_mode_detected_by: string
    wakeups: string
    locks: string
  }
}

/** How far a reconcile has got: the dashboard shows it while POST /api/sync/reconcile runs. */
export interface ReconcileProgress {
  running: boolean
  fix: boolean
  started_at: string | null
  /** e.g. "comparing bookings" */
  phase: string | null
  /** HubSpot objects listed so far */
  listed: number
}

/** The body of POST /api/mock-exams (PATCH takes any part of it). */
export interface ExamInput {
  mock_exam_name: string
  mock_type: string
  /** YYYY-MM-DD */
  exam_date: string
  /** HH:MM, 24-hour */
  start_time: string
  end_time: string
  location: string
  capacity: number
  is_active?: boolean
}

/** The body of POST /api/bookings. */
export interface BookingInput {
  examId: string
  /** The idempotency key: a retried create with the same key books once. */
  booking_id?: string
  student_name: string
  student_email: string
  student_id?: string
  contact_id?: string
  dominant_hand?: 'left' | 'right'
  attending_location?: string
}

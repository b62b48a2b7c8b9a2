// The shared vocabulary: the shape of a mock exam and a booking as rows, API bodies and events.
// Types and constants only, so every part may import it without breaking the layering. The record and
// wire types are derived (type-only) from the field catalogue (objects/) and the HTTP contract, written once there.
import type { z } from 'zod'
import type { bookingCreate, historyEntry } from './contract/bookings.js'
import type { examCreate } from './contract/exams.js'
import type { changeOrigin, fieldChanges } from './contract/common.js'
import type { changeEvent } from './contract/realtime.js'
import type { reconcileProgress, syncStatus } from './contract/sync.js'
import type { BOOKING_FIELDS } from './objects/booking.js'
import type { EXAM_FIELDS } from './objects/exam.js'
import type { RecordOf } from './objects/field.js'

/** A mock exam as stored in the replica and served by the API (seed field names plus hubspot_id): see objects/exam.ts. */
export type ExamRecord = RecordOf<typeof EXAM_FIELDS>

/** A booking as stored in the replica and served by the API: see objects/booking.ts. */
export type BookingRecord = RecordOf<typeof BOOKING_FIELDS>

export const BOOKING_STATUSES = ['confirmed', 'cancelled', 'completed', 'no_show'] as const
export type BookingStatus = (typeof BOOKING_STATUSES)[number]
/** Statuses that hold a seat against the exam's capacity. */
export const SEAT_HOLDING_STATUSES: readonly BookingStatus[] = ['confirmed', 'completed', 'no_show']

export type { Attendance } from './objects/enums.js'

export type ObjectKind = 'exam' | 'booking'

/** The object types the sync engine pulls and the replica keeps sync state for (the API's plural names). */
export const SYNC_TYPES = ['exams', 'bookings'] as const
export type SyncType = (typeof SYNC_TYPES)[number]

/**
 * The fields one change altered, each as `[old, new]` (old null for a record new to the replica).
 * Versioning columns (hs_lastmodifieddate, updated_at, synced_at) are left out: they change every time.
 */
export type FieldChanges = NonNullable<z.output<typeof fieldChanges>>

/**
 * Who made a change: a hubmirror write (the token's `sub`; null when it is not known, as for a
 * write recovered after a crash), or HubSpot, as a pull found it, with the property history's
 * `sourceType` / `sourceId` / `updatedByUserId` when HubSpot gave them.
 */
export type ChangeOrigin = NonNullable<z.output<typeof changeOrigin>>

/** One row of the change log as delivered to realtime subscribers (the contract's ChangeEvent). */
export type ChangeEvent = z.output<typeof changeEvent>

/**
 * A change event as its commit announces it in this process: whole, or its envelope alone when no
 * one here delivers rows live (a backfill run from the CLI), so that a bulk insert's rows are not
 * sent back from Postgres only to be dropped. The log holds every event whole either way.
 */
export type CommittedEvent = ChangeEvent | ChangeEnvelope

/** A change event without its row and change list: what it is, where in the log, and whose. */
export type ChangeEnvelope = Omit<ChangeEvent, 'row' | 'changes'> & { row?: never; changes?: never }

/** Whether a committed event came with its row and change list (see CommittedEvent). */
export function isWholeEvent(event: CommittedEvent): event is ChangeEvent {
  return event.changes !== undefined
}

/** One entry of a record's history (GET /api/bookings/:id/history): a change event without its row. */
export type HistoryEntry = z.output<typeof historyEntry>

/**
 * A change-log row as read back from the log: a ChangeEvent's envelope, with the row left as the
 * JSON text Postgres keeps (jsonb's output). Replays splice it into the wire JSON unparsed.
 */
export interface LoggedChangeEvent extends Omit<ChangeEvent, 'row'> {
  /** Valid JSON, an object or `null`, in jsonb's layout: `{"a": 1, "b": "x"}` (keys by length, then bytes). */
  rowJson: string
}

/** The body of GET /api/sync/status: what the sync engine reports and the dashboard draws. */
export type SyncStatus = z.output<typeof syncStatus>

/** How far a reconcile has got: the dashboard shows it while POST /api/sync/reconcile runs. */
export type ReconcileProgress = z.output<typeof reconcileProgress>

/** The body of POST /api/mock-exams (PATCH takes any part of it). */
export type ExamInput = z.output<typeof examCreate>

/** The body of POST /api/bookings: `examId`, the idempotency key `booking_id`, and the catalogue's creatable fields. */
export type BookingInput = z.output<typeof bookingCreate>

// Request and response shapes of the public HTTP API, as the client sees them.
import type { DoctorReport } from '../model/doctor.js'
import type { BookingInput, BookingRecord, ChangeEvent, ExamInput, ExamRecord, SyncStatus } from '../model/records.js'

export type { BookingInput, ExamInput }

export type { BookingRecord, ChangeEvent, ExamRecord }

export type Permission = 'exams.view' | 'exams.edit' | 'bookings.edit' | 'sync.run'

/** A token, or a function giving the current one (so a long-lived client follows sign-in changes). */
export type TokenSource = string | null | (() => string | null)

export interface ClientOptions {
  /** Origin of the hubmirror server, e.g. `http://127.0.0.1:3000`; `''` means same origin in a browser. */
  baseUrl: string
  token: TokenSource
  /** Injected for tests and unusual runtimes; defaults to the global `fetch`. */
  fetch?: typeof fetch
}

export interface ExamFilters {
  is_active?: boolean
  /** YYYY-MM-DD */
  startDate?: string
  endDate?: string
}

export type ExamPatch = Partial<ExamInput>

export interface CountRow {
  exams: number
  capacity: number
  bookings: number
}

export interface Aggregates {
  total_exams: number
  active_exams: number
  total_capacity: number
  total_bookings: number
  /** 0..1 */
  utilization: number
  by_type: (CountRow & { mock_type: string })[]
  by_location: (CountRow & { location: string })[]
  by_date: (CountRow & { exam_date: string })[]
}

export interface BatchCancelResult {
  results: { id: string; success: boolean; error?: { code: string; message: string } }[]
  cancelled: number
  failed: number
}

export interface PullRequest {
  types?: ('exams' | 'bookings')[]
  exam_ids?: string[]
}

export interface PullResult {
  started: boolean
  changed: number
  [key: string]: unknown
}

export type { SyncObjectStatus as ObjectSyncState, SyncStatus } from '../model/records.js'

/** A read's parsed body plus the change-log position it reflects (`X-Replica-Seq`; `null` if absent). */
export type WithSeq<T> = T & { seq: string | null }

export interface ExamsBody {
  success: true
  exams: ExamRecord[]
}
export interface ExamBody {
  success: true
  exam: ExamRecord
}
export interface BookingsBody {
  success: true
  bookings: BookingRecord[]
}
export interface BookingBody {
  success: true
  booking: BookingRecord
}
export interface AggregatesBody {
  success: true
  aggregates: Aggregates
}
export interface ArchiveBody {
  success: true
  archived: true
}
export interface BatchCancelBody extends BatchCancelResult {
  success: true
}
export interface PullBody {
  success: true
  pull: PullResult
}
export interface ForceSyncBody {
  success: true
  message: string
  count: number
}
export interface SyncStatusBody {
  success: true
  status: SyncStatus
}
export type { Check as DoctorCheck, CheckStatus as DoctorCheckStatus, DoctorReport } from '../model/doctor.js'
export interface DoctorBody {
  success: true
  doctor: DoctorReport
}
export interface LongPollBody {
  success: true
  events: ChangeEvent[]
  cursor: string | null
}

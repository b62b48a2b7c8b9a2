// Request and response shapes of the public HTTP API, as the client sees them: inferred from the server's contract.
// Type-only imports: the client (and the dashboard bundle) carry no zod and no server code, yet a change to a
// route's schema in src/http/contract changes these types, so a client out of step with the server fails to compile.
import type { z } from 'zod'
import type * as bookings from '../model/contract/bookings.js'
import type * as doctor from '../model/contract/doctor.js'
import type * as exams from '../model/contract/exams.js'
import type * as realtime from '../model/contract/realtime.js'
import type * as sync from '../model/contract/sync.js'

export type ExamRecord = z.output<typeof exams.examRecord>
export type BookingRecord = z.output<typeof bookings.bookingRecord>
export type ChangeEvent = z.output<typeof realtime.changeEvent>

/** The body of POST /api/mock-exams. */
export type ExamInput = z.input<typeof exams.examCreate>
/** The body of PATCH /api/mock-exams/:id: any part of ExamInput. */
export type ExamPatch = z.input<typeof exams.examPatch>
/** The body of POST /api/bookings. */
export type BookingInput = z.input<typeof bookings.bookingCreate>
export type PullRequest = NonNullable<z.input<typeof sync.pullRequest>>
export type ReconcileRequest = NonNullable<z.input<typeof sync.reconcileRequest>>

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

export type Aggregates = z.output<typeof exams.aggregates>
export type SyncStatus = z.output<typeof sync.syncStatus>
export type ObjectSyncState = SyncStatus['objects']['exams']
export type PullResult = z.output<typeof sync.pullResult>
export type DriftReport = z.output<typeof sync.driftReport>
export type ReconcileProgress = z.output<typeof sync.reconcileProgress>
export type BatchCancelResult = z.output<typeof bookings.batchCancelResult>

/** A read's parsed body plus the change-log position it reflects (`X-Replica-Seq`; `null` if absent). */
export type WithSeq<T> = T & { seq: string | null }

export type ExamsBody = z.output<typeof exams.examsBody>
export type ExamBody = z.output<typeof exams.examBody>
export type AggregatesBody = z.output<typeof exams.aggregatesBody>
export type ArchiveBody = z.output<typeof exams.archiveBody>
export type BookingsBody = z.output<typeof bookings.bookingsBody>
export type BookingBody = z.output<typeof bookings.bookingBody>
export type BookingCreatedBody = z.output<typeof bookings.bookingCreatedBody>
export type BatchCancelBody = z.output<typeof bookings.batchCancelBody>
/** 200 `{completed: true, result}` when the pull finished; 202 `{completed: false, message}` while it runs on. */
export type PullBody = z.output<typeof sync.pullDone> | z.output<typeof sync.pullRunning>
export type ForceSyncBody = z.output<typeof sync.forceBody>
export type ReconcileBody = z.output<typeof sync.reconcileBody>
export type SyncStatusBody = z.output<typeof sync.statusBody>
export type LongPollBody = z.output<typeof realtime.longPollBody>
export type DoctorBody = z.output<typeof doctor.doctorBody>
export type DoctorReport = z.output<typeof doctor.doctorReport>
export type DoctorCheck = z.output<typeof doctor.doctorCheck>

// Request and response shapes of the public HTTP API, as the client sees them: inferred from the server's contract.
// Type-only imports: the client (and the dashboard bundle) carry no zod and no server code, yet a change to a
// route's schema in src/http/contract changes these types, so a client out of step with the server fails to compile.
import type { z } from 'zod'
import type * as auth from '../model/contract/auth.js'
import type * as bookings from '../model/contract/bookings.js'
import type * as doctor from '../model/contract/doctor.js'
import type * as exams from '../model/contract/exams.js'
import type * as realtime from '../model/contract/realtime.js'
import type * as search from '../model/contract/search.js'
import type * as sync from '../model/contract/sync.js'
import type { SyncStatus } from '../model/records.js'

/** What the server sends for each contract schema: its zod output, by name. */
type Outputs<Schemas extends Record<string, z.ZodType>> = { [Name in keyof Schemas]: z.output<Schemas[Name]> }

type Shapes = Outputs<{
  exam: typeof exams.examRecord
  booking: typeof bookings.bookingRecord
  aggregates: typeof exams.aggregates
  pullResult: typeof sync.pullResult
  drift: typeof sync.driftReport
  batchCancel: typeof bookings.batchCancelResult
  batchAttendance: typeof bookings.batchAttendanceResult
  doctorReport: typeof doctor.doctorReport
  doctorCheck: typeof doctor.doctorCheck
  searchHit: typeof search.bookingSearchHit
}>

/** The response bodies, by route. */
type Bodies = Outputs<{
  exams: typeof exams.examsBody
  exam: typeof exams.examBody
  aggregates: typeof exams.aggregatesBody
  archive: typeof exams.archiveBody
  bookings: typeof bookings.bookingsBody
  booking: typeof bookings.bookingBody
  bookingCreated: typeof bookings.bookingCreatedBody
  batchCancel: typeof bookings.batchCancelBody
  attendance: typeof bookings.attendanceBody
  batchAttendance: typeof bookings.batchAttendanceBody
  history: typeof bookings.historyBody
  pullDone: typeof sync.pullDone
  pullRunning: typeof sync.pullRunning
  forceSync: typeof sync.forceBody
  reconcile: typeof sync.reconcileBody
  syncStatus: typeof sync.statusBody
  longPoll: typeof realtime.longPollBody
  doctor: typeof doctor.doctorBody
  signInExchange: typeof auth.exchangeBody
  bookingSearch: typeof search.bookingSearchBody
}>

export type ExamRecord = Shapes['exam']
export type BookingRecord = Shapes['booking']

/** The body of POST /api/mock-exams. */
export type ExamInput = z.input<typeof exams.examCreate>
/** The body of PATCH /api/mock-exams/:id: any part of ExamInput. */
export type ExamPatch = z.input<typeof exams.examPatch>
/** The body of POST /api/bookings. */
export type BookingInput = z.input<typeof bookings.bookingCreate>
export type PullRequest = NonNullable<z.input<typeof sync.pullRequest>>
export type ReconcileRequest = NonNullable<z.input<typeof sync.reconcileRequest>>

export type Permission = 'exams.view' | 'exams.edit' | 'bookings.edit' | 'sync.run' | 'metrics.read'

/** A token, or a function giving the current one (so a long-lived client follows sign-in changes). */
export type TokenSource = string | null | (() => string | null)

export interface ClientOptions {
  /** Origin of the hubmirror server, e.g. `http://127.0.0.1:3000`; `''` means same origin in a browser. */
  baseUrl: string
  token: TokenSource
  /** Injected for tests and unusual runtimes; defaults to the global `fetch`. */
  fetch?: typeof fetch
}

export interface ExamFilters extends PageOptions {
  is_active?: boolean
  /** YYYY-MM-DD */
  startDate?: string
  endDate?: string
}

/** Keyset paging: with `limit` the answer is one page and carries `next_cursor` (null on the last page). */
export interface PageOptions {
  /** 1–1000 rows */
  limit?: number
  /** the previous page's next_cursor */
  cursor?: string
}

export type Aggregates = Shapes['aggregates']
// One definition each, in src/model/records.ts (derived there from the contract): the server's types are the client's.
export type { ChangeEvent, HistoryEntry, ReconcileProgress, SyncStatus } from '../model/records.js'
export type ObjectSyncState = SyncStatus['objects']['exams']
export type PullResult = Shapes['pullResult']
export type DriftReport = Shapes['drift']
export type BatchCancelResult = Shapes['batchCancel']
export type BatchAttendanceResult = Shapes['batchAttendance']
/** The body of PATCH /api/bookings/:id (attendance and where the student sat). */
export type AttendancePatch = z.input<typeof bookings.attendancePatch>
/** One update of POST /api/bookings/batch-attendance. */
export type AttendanceUpdate = z.input<typeof bookings.batchAttendance>['updates'][number]
export type DoctorReport = Shapes['doctorReport']
export type DoctorCheck = Shapes['doctorCheck']
/** A booking found by GET /api/bookings?q=, with the exam it is on. */
export type BookingSearchHit = Shapes['searchHit']

/** A read's parsed body plus the change-log position it reflects (`X-Replica-Seq`; `null` if absent). */
export type WithSeq<T> = T & { seq: string | null }

export type ExamsBody = Bodies['exams']
export type ExamBody = Bodies['exam']
export type AggregatesBody = Bodies['aggregates']
export type ArchiveBody = Bodies['archive']
export type BookingsBody = Bodies['bookings']
export type BookingBody = Bodies['booking']
export type BookingCreatedBody = Bodies['bookingCreated']
export type BatchCancelBody = Bodies['batchCancel']
export type AttendanceBody = Bodies['attendance']
export type BatchAttendanceBody = Bodies['batchAttendance']
export type HistoryBody = Bodies['history']
export type ForceSyncBody = Bodies['forceSync']
export type ReconcileBody = Bodies['reconcile']
export type SyncStatusBody = Bodies['syncStatus']
export type LongPollBody = Bodies['longPoll']
export type DoctorBody = Bodies['doctor']
/** The body of POST /api/auth/exchange: the session token for a sign-in link's one-time code. */
export type SignInExchangeBody = Bodies['signInExchange']
export type BookingSearchBody = Bodies['bookingSearch']
/** 200 `{completed: true, result}` when the pull finished; 202 `{completed: false, message}` while it runs on. */
export type PullBody = Bodies['pullDone'] | Bodies['pullRunning']

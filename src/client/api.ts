// Typed wrappers for hubmirror's REST endpoints: one call per route, errors normalised to HubmirrorError.
import { HubmirrorError } from './errors.js'
import type {
  AggregatesBody,
  ArchiveBody,
  AttendanceBody,
  AttendancePatch,
  AttendanceUpdate,
  BatchAttendanceBody,
  BatchCancelBody,
  BookingBody,
  BookingCreatedBody,
  BookingInput,
  BookingSearchBody,
  BookingsBody,
  ClientOptions,
  DoctorBody,
  ExamBody,
  ExamFilters,
  ExamInput,
  ExamPatch,
  ExamsBody,
  PageOptions,
  ForceSyncBody,
  HistoryBody,
  PullBody,
  PullRequest,
  ReconcileBody,
  ReconcileRequest,
  SignInExchangeBody,
  SyncStatusBody,
  TokenSource,
  WithSeq,
} from './types.js'

export interface HubmirrorApi {
  listExams(filters?: ExamFilters, init?: CallInit): Promise<WithSeq<ExamsBody>>
  getExam(id: string, init?: CallInit): Promise<WithSeq<ExamBody>>
  /** The exam's whole list, or with `page.limit` one keyset page of it. */
  getExamBookings(id: string, init?: CallInit, page?: PageOptions): Promise<WithSeq<BookingsBody>>
  getAggregates(init?: CallInit): Promise<WithSeq<AggregatesBody>>
  getSyncStatus(init?: CallInit): Promise<WithSeq<SyncStatusBody>>
  /** The same checks as `hubmirror doctor`; shared by dashboards for 15 s. */
  getDoctor(init?: CallInit): Promise<WithSeq<DoctorBody>>
  createExam(input: ExamInput, init?: CallInit): Promise<ExamBody>
  updateExam(id: string, patch: ExamPatch, init?: CallInit): Promise<ExamBody>
  archiveExam(id: string, init?: CallInit): Promise<ArchiveBody>
  setExamActive(id: string, isActive: boolean, init?: CallInit): Promise<ExamBody>
  createBooking(input: BookingInput, init?: CallInit): Promise<BookingCreatedBody>
  cancelBooking(id: string, init?: CallInit): Promise<BookingBody>
  batchCancelBookings(ids: string[], init?: CallInit): Promise<BatchCancelBody>
  /** Marks attendance (`attended`, `no_show`, null) and/or where the student sat. */
  setAttendance(id: string, patch: AttendancePatch, init?: CallInit): Promise<AttendanceBody>
  batchAttendance(updates: AttendanceUpdate[], init?: CallInit): Promise<BatchAttendanceBody>
  /** A booking's (or exam's) changes, newest first; pass the previous page's `next_cursor` for older ones. */
  getHistory(
    kind: 'booking' | 'exam',
    id: string,
    page?: { limit?: number; cursor?: string | null },
    init?: CallInit,
  ): Promise<HistoryBody>
  /** Resolves on 200 (finished: `completed: true, result`) and on 202 (still running: `completed: false`). */
  pullSync(request?: PullRequest, init?: CallInit): Promise<PullBody>
  /** Compares HubSpot and the replica; with `fix`, repairs the drift. Waits for the whole run. */
  reconcileSync(request?: ReconcileRequest, init?: CallInit): Promise<ReconcileBody>
  forceSync(target: { type: 'exams' } | { type: 'bookings'; examId: string }, init?: CallInit): Promise<ForceSyncBody>
  /** Trades the one-time code of a sign-in link (`#code=`) for a bearer token; needs no token itself. */
  exchangeSignInCode(code: string, init?: CallInit): Promise<SignInExchangeBody>
  /** Bookings whose student name, email or student id contains `q`, across exams; page on with `next_cursor`. */
  searchBookings(
    search: { q: string; limit?: number; cursor?: string | null },
    init?: CallInit,
  ): Promise<WithSeq<BookingSearchBody>>
  /** An exam's bookings as a CSV file (a download needs the bearer header, so a plain link cannot fetch it). */
  exportExamBookingsCsv(examId: string, init?: CallInit): Promise<CsvFile>
  /** The exam list as a CSV file, with the list's filters. */
  exportExamsCsv(filters?: ExamFilters, init?: CallInit): Promise<CsvFile>
}

export interface CsvFile {
  blob: Blob
  /** From the server's Content-Disposition. */
  filename: string
}

export interface CallInit {
  signal?: AbortSignal
}

/** `?…` with the page's `limit` and `cursor` added to q, or '' when there is nothing to send. */
function withPage(q: URLSearchParams, page: PageOptions): string {
  if (page.limit !== undefined) q.set('limit', String(page.limit))
  if (page.cursor !== undefined) q.set('cursor', page.cursor)
  const qs = q.toString()
  return qs ? `?${qs}` : ''
}

export function createHubmirrorApi(options: ClientOptions): HubmirrorApi {
  const call = <T>(method: string, path: string, body?: unknown, init?: CallInit) =>
    request<T>(options, method, path, body, init)
  const read = async <T>(path: string, init?: CallInit): Promise<WithSeq<T>> => {
    const { body, headers } = await call<T>('GET', path, undefined, init)
    return { ...body, seq: headers.get('x-replica-seq') }
  }
  const write = async <T>(method: string, path: string, body?: unknown, init?: CallInit) =>
    (await call<T>(method, path, body, init)).body
  const id = encodeURIComponent

  /** The exam list's filters (and, for a page of the JSON list, its limit and cursor; never for the CSV). */
  const examQuery = (filters: ExamFilters, page: PageOptions = {}) => {
    const q = new URLSearchParams()
    if (filters.is_active !== undefined) q.set('is_active', String(filters.is_active))
    if (filters.startDate) q.set('startDate', filters.startDate)
    if (filters.endDate) q.set('endDate', filters.endDate)
    return withPage(q, page)
  }

  return {
    listExams: (filters = {}, init) => read<ExamsBody>(`/api/mock-exams${examQuery(filters, filters)}`, init),
    getExam: (examId, init) => read<ExamBody>(`/api/mock-exams/${id(examId)}`, init),
    getExamBookings: (examId, init, page = {}) =>
      read<BookingsBody>(`/api/mock-exams/${id(examId)}/bookings${withPage(new URLSearchParams(), page)}`, init),
    getAggregates: (init) => read<AggregatesBody>('/api/mock-exams/aggregates', init),
    getSyncStatus: (init) => read<SyncStatusBody>('/api/sync/status', init),
    getDoctor: (init) => read<DoctorBody>('/api/sync/doctor', init),
    createExam: (input, init) => write<ExamBody>('POST', '/api/mock-exams', input, init),
    updateExam: (examId, patch, init) => write<ExamBody>('PATCH', `/api/mock-exams/${id(examId)}`, patch, init),
    archiveExam: (examId, init) => write<ArchiveBody>('DELETE', `/api/mock-exams/${id(examId)}`, undefined, init),
    setExamActive: (examId, isActive, init) =>
      write<ExamBody>('POST', `/api/mock-exams/${id(examId)}/activate`, { is_active: isActive }, init),
    createBooking(input, init) {
      // The key is fixed before the first attempt so that a retry after a lost response books once.
      const body = { ...input, booking_id: input.booking_id ?? newIdempotencyKey() }
      return write<BookingCreatedBody>('POST', '/api/bookings', body, init)
    },
    cancelBooking: (bookingId, init) => write<BookingBody>('POST', `/api/bookings/${id(bookingId)}/cancel`, {}, init),
    batchCancelBookings: (bookingIds, init) =>
      write<BatchCancelBody>('POST', '/api/bookings/batch-cancel', { bookingIds }, init),
    setAttendance: (bookingId, patch, init) =>
      write<AttendanceBody>('PATCH', `/api/bookings/${id(bookingId)}`, patch, init),
    batchAttendance: (updates, init) =>
      write<BatchAttendanceBody>('POST', '/api/bookings/batch-attendance', { updates }, init),
    getHistory(kind, recordId, page = {}, init) {
      const q = new URLSearchParams()
      if (page.limit !== undefined) q.set('limit', String(page.limit))
      if (page.cursor) q.set('cursor', page.cursor)
      const qs = q.toString()
      const base = kind === 'exam' ? '/api/mock-exams' : '/api/bookings'
      return write<HistoryBody>('GET', `${base}/${id(recordId)}/history${qs ? `?${qs}` : ''}`, undefined, init)
    },
    pullSync: (req = {}, init) => write<PullBody>('POST', '/api/sync/pull', req, init),
    reconcileSync: (req = {}, init) => write<ReconcileBody>('POST', '/api/sync/reconcile', req, init),
    forceSync(target, init) {
      const q = new URLSearchParams({ type: target.type })
      if (target.type === 'bookings') q.set('examId', target.examId)
      return write<ForceSyncBody>('POST', `/api/admin/sync/force?${q}`, {}, init)
    },
    exchangeSignInCode: (code, init) => write<SignInExchangeBody>('POST', '/api/auth/exchange', { code }, init),
    searchBookings: ({ q, limit, cursor }, init) =>
      read<BookingSearchBody>(
        `/api/bookings${withPage(new URLSearchParams({ q }), { limit, cursor: cursor ?? undefined })}`,
        init,
      ),
    exportExamBookingsCsv: (examId, init) => download(options, `/api/mock-exams/${id(examId)}/bookings.csv`, init),
    exportExamsCsv: (filters = {}, init) => download(options, `/api/mock-exams.csv${examQuery(filters)}`, init),
  }
}

/** A file route: the body as a Blob on 2xx, the error envelope as a HubmirrorError otherwise. */
async function download(options: ClientOptions, path: string, init: CallInit | undefined): Promise<CsvFile> {
  const doFetch = options.fetch ?? globalThis.fetch
  let res: Response
  try {
    res = await doFetch(joinUrl(options.baseUrl, path), {
      headers: { accept: 'text/csv, application/json', ...authHeaders(options.token) },
      ...(init?.signal ? { signal: init.signal } : {}),
    })
  } catch (cause) {
    if (init?.signal?.aborted) throw new HubmirrorError(0, 'E_ABORTED', 'Request aborted', { cause })
    throw new HubmirrorError(0, 'E_NETWORK', 'Could not reach the hubmirror server', { cause })
  }
  if (!res.ok) {
    let parsed: unknown = undefined
    try {
      parsed = await res.json()
    } catch {
      parsed = undefined
    }
    throw HubmirrorError.fromBody(res.status, parsed)
  }
  const disposition = res.headers.get('content-disposition') ?? ''
  const filename = /filename="([^"]+)"/.exec(disposition)?.[1] ?? path.split('?')[0]!.split('/').pop()!
  return { blob: await res.blob(), filename }
}

/** A fresh idempotency key for a booking create. */
export function newIdempotencyKey(): string {
  const c = globalThis.crypto
  if (c && typeof c.randomUUID === 'function') return c.randomUUID()
  // Insecure contexts (plain http on a LAN address) have no randomUUID; uniqueness is all we need.
  return `bk-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 12)}`
}

export function resolveToken(token: TokenSource): string | null {
  return typeof token === 'function' ? token() : token
}

export function joinUrl(baseUrl: string, path: string): string {
  return `${baseUrl.replace(/\/+$/, '')}${path}`
}

export function authHeaders(token: TokenSource): Record<string, string> {
  const t = resolveToken(token)
  return t ? { authorization: `Bearer ${t}` } : {}
}

async function request<T>(
  options: ClientOptions,
  method: string,
  path: string,
  body: unknown,
  init: CallInit | undefined,
): Promise<{ body: T; headers: Headers }> {
  const doFetch = options.fetch ?? globalThis.fetch
  const headers: Record<string, string> = { accept: 'application/json', ...authHeaders(options.token) }
  if (body !== undefined) headers['content-type'] = 'application/json'
  let res: Response
  try {
    res = await doFetch(joinUrl(options.baseUrl, path), {
      method,
      headers,
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
      ...(init?.signal ? { signal: init.signal } : {}),
    })
  } catch (cause) {
    if (init?.signal?.aborted) throw new HubmirrorError(0, 'E_ABORTED', 'Request aborted', { cause })
    throw new HubmirrorError(0, 'E_NETWORK', 'Could not reach the hubmirror server', { cause })
  }
  const text = await res.text()
  let parsed: unknown = undefined
  if (text) {
    try {
      parsed = JSON.parse(text)
    } catch {
      parsed = undefined
    }
  }
  const success = successFlag(parsed)
  if (res.ok && success === true) return { body: parsed as T, headers: res.headers }
  if (!res.ok || success === false) throw HubmirrorError.fromBody(res.status, parsed)
  throw new HubmirrorError(res.status, 'E_BAD_RESPONSE', `Unexpected response from ${method} ${path}`)
}

function successFlag(body: unknown): unknown {
  return typeof body === 'object' && body !== null ? (body as { success?: unknown }).success : undefined
}

// Typed wrappers for hubmirror's REST endpoints: one call per route, errors normalised to HubmirrorError.
import { HubmirrorError } from './errors.js'
import type {
  AggregatesBody,
  ArchiveBody,
  BatchCancelBody,
  BookingBody,
  BookingCreatedBody,
  BookingInput,
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
  PullBody,
  PullRequest,
  ReconcileBody,
  ReconcileRequest,
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
  /** Resolves on 200 (finished: `completed: true, result`) and on 202 (still running: `completed: false`). */
  pullSync(request?: PullRequest, init?: CallInit): Promise<PullBody>
  /** Compares HubSpot and the replica; with `fix`, repairs the drift. Waits for the whole run. */
  reconcileSync(request?: ReconcileRequest, init?: CallInit): Promise<ReconcileBody>
  forceSync(target: { type: 'exams' } | { type: 'bookings'; examId: string }, init?: CallInit): Promise<ForceSyncBody>
}

export interface CallInit {
  signal?: AbortSignal
}

function pageParams(q: URLSearchParams, page: PageOptions): URLSearchParams {
  if (page.limit !== undefined) q.set('limit', String(page.limit))
  if (page.cursor !== undefined) q.set('cursor', page.cursor)
  return q
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

  return {
    listExams(filters = {}, init) {
      const q = new URLSearchParams()
      if (filters.is_active !== undefined) q.set('is_active', String(filters.is_active))
      if (filters.startDate) q.set('startDate', filters.startDate)
      if (filters.endDate) q.set('endDate', filters.endDate)
      const qs = pageParams(q, filters).toString()
      return read<ExamsBody>(`/api/mock-exams${qs ? `?${qs}` : ''}`, init)
    },
    getExam: (examId, init) => read<ExamBody>(`/api/mock-exams/${id(examId)}`, init),
    getExamBookings: (examId, init, page = {}) => {
      const qs = pageParams(new URLSearchParams(), page).toString()
      return read<BookingsBody>(`/api/mock-exams/${id(examId)}/bookings${qs ? `?${qs}` : ''}`, init)
    },
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
    pullSync: (req = {}, init) => write<PullBody>('POST', '/api/sync/pull', req, init),
    reconcileSync: (req = {}, init) => write<ReconcileBody>('POST', '/api/sync/reconcile', req, init),
    forceSync(target, init) {
      const q = new URLSearchParams({ type: target.type })
      if (target.type === 'bookings') q.set('examId', target.examId)
      return write<ForceSyncBody>('POST', `/api/admin/sync/force?${q}`, {}, init)
    },
  }
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

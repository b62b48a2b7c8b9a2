// Type test (vitest typecheck): pins the public types of hubmirror/client, so a contract change that moves them is a failing test.
import { describe, expectTypeOf, it } from 'vitest'
import {
  createChangeFeed,
  createHubmirrorApi,
  HubmirrorError,
  isHubmirrorError,
  subscribeChanges,
  useRealtimeBookings,
  type BookingInput,
  type BookingRecord,
  type ChangeEvent,
  type ChangeStatus,
  type DriftReport,
  type ExamInput,
  type ExamPatch,
  type ExamRecord,
  type HubmirrorApi,
  type Permission,
  type PullBody,
  type PullResult,
  type ReconcileProgress,
  type SubscribeOptions,
  type Subscription,
  type SyncStatus,
  type TokenSource,
  type Transport,
  type WithSeq,
} from './index.js'

describe('hubmirror/client public types', () => {
  it('createHubmirrorApi takes a base URL and a token source and returns the API', () => {
    expectTypeOf(createHubmirrorApi).parameter(0).toEqualTypeOf<{
      baseUrl: string
      token: TokenSource
      fetch?: typeof fetch
    }>()
    expectTypeOf(createHubmirrorApi).returns.toEqualTypeOf<HubmirrorApi>()
    expectTypeOf<TokenSource>().toEqualTypeOf<string | null | (() => string | null)>()
  })

  it('an exam and a booking carry the seed field names with these types', () => {
    expectTypeOf<ExamRecord>().toMatchObjectType<{
      hubspot_id: string
      mock_exam_name: string | null
      mock_type: string | null
      exam_date: string | null
      start_time: string | null
      end_time: string | null
      location: string | null
      capacity: number | null
      total_bookings: number
      is_active: string | null
      hs_lastmodifieddate: string
      deleted_at: string | null
    }>()
    expectTypeOf<ExamRecord['synced_at']>().toEqualTypeOf<string | null | undefined>()
    expectTypeOf<BookingRecord>().toMatchObjectType<{
      hubspot_id: string
      booking_id: string | null
      mock_exam_id: string | null
      student_name: string | null
      student_email: string | null
      booking_status: string | null
      is_active: string | null
      hs_lastmodifieddate: string
    }>()
  })

  it('request bodies: what is required and what is optional', () => {
    expectTypeOf<BookingInput>().toEqualTypeOf<{
      examId: string
      booking_id?: string | undefined
      student_name: string
      student_email: string
      student_id?: string | undefined
      contact_id?: string | undefined
      dominant_hand?: 'left' | 'right' | undefined
      attending_location?: string | undefined
      notes?: string | undefined
    }>()
    expectTypeOf<ExamInput>().toEqualTypeOf<{
      mock_exam_name: string
      mock_type: string
      exam_date: string
      start_time: string
      end_time: string
      location: string
      capacity: number
      is_active?: boolean | undefined
    }>()
    expectTypeOf<ExamPatch>().toEqualTypeOf<Partial<ExamInput>>()
  })

  it('reads resolve to the body plus the seq it reflects; writes to the body', () => {
    type Api = HubmirrorApi
    expectTypeOf<Awaited<ReturnType<Api['listExams']>>>().toEqualTypeOf<
      WithSeq<{ success: true; exams: ExamRecord[]; next_cursor?: string | null | undefined }>
    >()
    expectTypeOf<Awaited<ReturnType<Api['getExamBookings']>>>().toEqualTypeOf<
      WithSeq<{ success: true; bookings: BookingRecord[]; next_cursor?: string | null | undefined }>
    >()
    expectTypeOf<WithSeq<object>['seq']>().toEqualTypeOf<string | null>()
    expectTypeOf<Awaited<ReturnType<Api['createBooking']>>>().toEqualTypeOf<{
      success: true
      booking: BookingRecord
      replayed: boolean
    }>()
    expectTypeOf<Awaited<ReturnType<Api['archiveExam']>>>().toEqualTypeOf<{ success: true; archived: true }>()
    expectTypeOf<Api['createBooking']>().parameter(0).toEqualTypeOf<BookingInput>()
    expectTypeOf<Api['batchCancelBookings']>().parameter(0).toEqualTypeOf<string[]>()
    expectTypeOf<Api['setExamActive']>().parameters.toEqualTypeOf<
      [id: string, isActive: boolean, init?: { signal?: AbortSignal }]
    >()
  })

  it('a pull answers finished (with its result) or still running, told apart by `completed`', () => {
    expectTypeOf<Awaited<ReturnType<HubmirrorApi['pullSync']>>>().toEqualTypeOf<PullBody>()
    expectTypeOf<PullBody>().toEqualTypeOf<
      { success: true; completed: true; result: PullResult } | { success: true; completed: false; message: string }
    >()
    expectTypeOf<PullResult['started']>().toEqualTypeOf<boolean>()
    expectTypeOf<PullResult['kind']>().toEqualTypeOf<'incremental' | 'targeted' | 'backfill' | 'skipped'>()
    expectTypeOf<PullResult['skipped']>().toEqualTypeOf<'busy' | 'not-backfilled' | 'stopped' | undefined>()
    // The issue that started this: there is no `pull` field to read `started` from.
    expectTypeOf<PullBody>().not.toHaveProperty('pull')
  })

  it('reconcile: an optional fix, a drift report back, progress in the sync status', () => {
    expectTypeOf<HubmirrorApi['reconcileSync']>()
      .parameter(0)
      .toEqualTypeOf<{ fix?: boolean | undefined } | undefined>()
    expectTypeOf<Awaited<ReturnType<HubmirrorApi['reconcileSync']>>>().toEqualTypeOf<{
      success: true
      report: DriftReport
    }>()
    expectTypeOf<DriftReport>().toMatchObjectType<{
      checked_at: string
      missing_in_replica: number
      extra_in_replica: number
      stale_in_replica: number
      fixed: number
      calls: number
      ms: number
    }>()
    expectTypeOf<DriftReport['objects']['bookings']['samples']>().toEqualTypeOf<{
      missing: string[]
      extra: string[]
      stale: string[]
    }>()
    expectTypeOf<SyncStatus['reconcile']>().toEqualTypeOf<ReconcileProgress | undefined>()
    expectTypeOf<ReconcileProgress>().toEqualTypeOf<{
      running: boolean
      fix: boolean
      started_at: string | null
      phase: string | null
      listed: number
    }>()
    expectTypeOf<SyncStatus['drift']>().toEqualTypeOf<Omit<DriftReport, 'objects' | 'calls' | 'ms'> | null>()
  })

  it('change events and subscriptions', () => {
    expectTypeOf<ChangeEvent['kind']>().toEqualTypeOf<'exam' | 'booking'>()
    expectTypeOf<ChangeEvent['op']>().toEqualTypeOf<'upsert' | 'delete'>()
    expectTypeOf<ChangeEvent['source']>().toEqualTypeOf<'write' | 'sync' | 'manual'>()
    expectTypeOf<ChangeEvent['row']>().toEqualTypeOf<ExamRecord | BookingRecord | null>()
    expectTypeOf(subscribeChanges).parameter(0).toEqualTypeOf<SubscribeOptions>()
    expectTypeOf(subscribeChanges).returns.toEqualTypeOf<Subscription>()
    expectTypeOf<SubscribeOptions['onEvent']>().parameter(0).toEqualTypeOf<ChangeEvent>()
    expectTypeOf<Subscription['status']>().returns.toEqualTypeOf<ChangeStatus>()
    expectTypeOf<ChangeStatus>().toEqualTypeOf<'connecting' | 'live' | 'reconnecting' | 'offline'>()
    expectTypeOf<Transport>().toEqualTypeOf<'sse' | 'long-poll'>()
    expectTypeOf(createChangeFeed).returns.toHaveProperty('subscribe')
    expectTypeOf(useRealtimeBookings).parameter(0).toEqualTypeOf<readonly string[]>()
  })

  it('errors and permissions', () => {
    expectTypeOf<HubmirrorError>().toExtend<Error>()
    expectTypeOf<HubmirrorError['status']>().toEqualTypeOf<number>()
    expectTypeOf<HubmirrorError['code']>().toEqualTypeOf<string>()
    expectTypeOf<HubmirrorError['details']>().toEqualTypeOf<Record<string, unknown> | undefined>()
    expectTypeOf<HubmirrorError['field']>().toEqualTypeOf<string | undefined>()
    expectTypeOf(isHubmirrorError).guards.toEqualTypeOf<HubmirrorError>()
    expectTypeOf<Permission>().toEqualTypeOf<
      'exams.view' | 'exams.edit' | 'bookings.edit' | 'sync.run' | 'metrics.read'
    >()
  })
})

// The write path: validate → guard → HubSpot → replica + change log (one transaction) → invalidate.
import { randomUUID } from 'node:crypto'
import { deps, type ResponseCache } from '../cache/index.js'
import {
  alreadyCancelled,
  AppError,
  bookingCancelled,
  bookingNotFound,
  cancelInProgress,
  examArchiving,
  keyReused,
  bookingNotInHubSpot,
  capacityBelowBookings,
  examFull,
  examInactive,
  examNotFound,
  examNotInHubSpot,
  writeInProgress,
} from '../errors.js'
import {
  BATCH_MAX,
  bookingFromHubSpot,
  bookingToProperties,
  examFromHubSpot,
  toProperties,
  type HubSpot,
  type UpsertResult,
} from '../hubspot/index.js'
import type { Logger } from '../logger.js'
import { chunks } from '../model/chunks.js'
import type { Attendance, BookingInput, BookingRecord, ChangeOrigin, ExamInput, ExamRecord } from '../model/records.js'
import {
  answerKey,
  bookingByKey,
  bookingsById,
  claimKey,
  completeIntents,
  driftedCounts,
  examReservation,
  failIntents,
  insertIntent,
  insertIntents,
  lockBookings,
  lockExam,
  newOwnerKey,
  pendingBookingWrites,
  pruneKeys,
  readKey,
  softDeleteExams,
  upsertBookings,
  upsertExams,
  type NewIntent,
  type Queryable,
  type ReplicaDriver,
} from '../replica/index.js'
import { Batcher } from './batcher.js'
import { crashPoint } from './crash-point.js'
import { ExamCounter } from './exam-counter.js'
import { IntentRecovery } from './recovery.js'
import { requestHash } from './request-key.js'

export type ExamFields = Partial<ExamInput>
export type { BookingInput }

export type CancelOutcome =
  { id: string; success: true; booking: BookingRecord } | { id: string; success: false; error: AppError }

/** One booking's attendance change: a field left out stays as it is; null clears it. */
export interface AttendanceUpdate {
  id: string
  attendance?: Attendance | null
  attending_location?: string | null
}

/** `changed: false`: the booking already read so, and nothing was sent to HubSpot (a retry is free). */
export type AttendanceOutcome =
  | { id: string; success: true; changed: boolean; booking: BookingRecord }
  | { id: string; success: false; error: AppError }

/** The change-log origin of a write made for this token subject. */
function byHubmirror(subject: string | null | undefined): ChangeOrigin {
  return { kind: 'hubmirror', subject: subject ?? null }
}

/** Who sent a create, and where its key came from: the key is bound to both. */
export interface CreateRequest {
  /** The token's subject, named in the change log as who made the booking. */
  subject?: string
  /** Whom the idempotency key belongs to (one per token without a subject): the same body from someone else is another request. */
  scope?: string
  /** How the client named the key (`Idempotency-Key` or `booking_id`), for the errors about it. */
  keyField?: string
}

/** The idempotency scope of booking creates (a key names one booking create). */
const CREATE_SCOPE = 'booking.create'
/** Expired idempotency keys are pruned every this many creates (and at start), a bounded batch at a time. */
const PRUNE_EVERY_CREATES = 1_000

type CreateGuard =
  { replay: BookingRecord } | { intentId: string; exam: { date: string | null; location: string | null } }

interface PendingCreate {
  bookingId: string
  properties: Record<string, string>
}

export interface WriteServiceOptions {
  db: ReplicaDriver
  hubspot: HubSpot
  cache: ResponseCache
  logger: Logger
}

export class WriteService {
  readonly ownerKey = newOwnerKey()
  readonly counter: ExamCounter
  readonly recovery: IntentRecovery
  readonly #db: ReplicaDriver
  readonly #hubspot: HubSpot
  readonly #cache: ResponseCache
  readonly #logger: Logger
  readonly #creates: Batcher<PendingCreate, UpsertResult>
  #releaseLiveness: (() => Promise<void>) | null = null
  #createsSincePrune = 0

  constructor(options: WriteServiceOptions) {
    this.#db = options.db
    this.#hubspot = options.hubspot
    this.#cache = options.cache
    this.#logger = options.logger
    // Creates and counter updates share the burst budget: each may fly at half its refill rate.
    // The refill is what HubSpot's headers state: the configured limit only until the first answer.
    const budget = options.hubspot.client.budget
    const pacingMs = () => {
      const limits = budget.burstLimits()
      return Math.round((2 * limits.windowMs) / Math.max(1, limits.max))
    }
    this.counter = new ExamCounter(options.db, options.hubspot, options.cache, options.logger, pacingMs, this.ownerKey)
    this.recovery = new IntentRecovery({
      db: options.db,
      hubspot: options.hubspot,
      cache: options.cache,
      logger: options.logger,
      counter: this.counter,
      ownerKey: this.ownerKey,
    })
    // Concurrent creates share one batch upsert: HubSpot's limit counts calls, not objects.
    this.#creates = new Batcher({
      maxBatch: BATCH_MAX,
      maxInFlight: 4,
      minIntervalMs: pacingMs,
      run: (items) => this.#upsertBookings(items),
    })
  }

  /** Marks this instance alive (intents it owns are not recovered by others) and recovers orphans. */
  async start(): Promise<void> {
    this.#releaseLiveness = await this.#db.holdLock(this.ownerKey)
    const { heldBack } = await this.recovery.resolvePending()
    // With leases (a transaction pooler), an instance killed a moment ago still looks alive until its
    // lease runs out: look again once it has, rather than leave its writes for the next pull.
    const { leaseTtlMs } = this.#db.topology
    if (heldBack > 0 && leaseTtlMs > 0) {
      await new Promise((resolve) => setTimeout(resolve, leaseTtlMs + 250))
      await this.recovery.resolvePending()
    }
    // Bookings committed by a process killed before its counter flight left: no intent covers
    // that gap, so HubSpot's total_bookings is compared with the replica's bookings instead.
    await this.counter.refreshQuietly(await driftedCounts(this.#db))
    await this.#pruneKeys()
  }

  async #pruneKeys(): Promise<void> {
    await pruneKeys(this.#db).catch((error) => this.#logger.warn({ err: error }, 'expired idempotency keys not pruned'))
  }

  async stop(): Promise<void> {
    await this.#releaseLiveness?.()
  }

  // ── bookings ────────────────────────────────────────────────────────────────

  /**
   * A create with a key (booking_id, or the Idempotency-Key header) is bound to its request: the
   * same request again gets the first answer (created: false), another request with the key 422.
   */
  async createBooking(
    input: BookingInput,
    request: CreateRequest = {},
  ): Promise<{ booking: BookingRecord; created: boolean }> {
    const bookingId = input.booking_id ?? randomUUID()
    const key =
      input.booking_id === undefined
        ? null
        : {
            hash: requestHash(request.scope ?? request.subject ?? '', { ...input, booking_id: bookingId }),
            field: request.keyField ?? 'booking_id',
          }
    const guarded = await this.#guardCreate(input, bookingId, key)
    if ('replay' in guarded) return { booking: guarded.replay, created: false }
    let result: UpsertResult
    try {
      result = await this.#creates.submit({
        bookingId,
        properties: this.#bookingProperties(input, bookingId, guarded.exam),
      })
    } catch (error) {
      await failIntents(this.#db, [guarded.intentId], (error as Error).message)
      throw error
    }
    const booking = bookingFromHubSpot(result)
    crashPoint('booking.create')
    await this.#db.transaction(async (tx) => {
      await upsertBookings(tx, [booking], 'write', { origin: byHubmirror(request.subject) })
      await completeIntents(tx, [guarded.intentId], { hubspot_id: booking.hubspot_id })
      if (key) await answerKey(tx, CREATE_SCOPE, bookingId, booking)
    })
    await this.counter.refreshQuietly([input.examId])
    await this.#cache.invalidate([deps.exam(input.examId), deps.examCollection])
    if (++this.#createsSincePrune >= PRUNE_EVERY_CREATES) {
      this.#createsSincePrune = 0
      void this.#pruneKeys()
    }
    return { booking, created: result.new !== false }
  }

  /**
   * Under the exam's row lock: the key first (a retry of a booking that went through is answered
   * even if the exam has filled up since), then the exam as it stands and as its in-flight updates
   * could leave it. The lock serialises every guard of the exam across instances, so what is
   * journaled here (the intent, the key) is part of what the next guard reads.
   */
  async #guardCreate(
    input: BookingInput,
    bookingId: string,
    key: { hash: string; field: string } | null,
  ): Promise<CreateGuard> {
    return this.#db.transaction(async (tx) => {
      const exam = await lockExam(tx, input.examId)
      if (key) {
        const replay = await this.#replay(tx, input, bookingId, key)
        if (replay) return { replay }
      }
      if (!exam || exam.deleted) throw examNotFound(input.examId, 'examId')
      const reservation = await examReservation(tx, input.examId)
      if (reservation.archiving) throw examArchiving(input.examId)
      if (exam.is_active !== 'true' || reservation.deactivating) throw examInactive(input.examId)
      // The lowest capacity the committed exam or any update in flight could leave.
      const capacities = [exam.capacity, reservation.pendingCapacity].filter((c): c is number => c !== null)
      const capacity = capacities.length ? Math.min(...capacities) : null
      if (capacity !== null && reservation.taken >= capacity) {
        throw examFull(input.examId, reservation.taken, capacity)
      }
      const intentId = await insertIntent(tx, {
        kind: 'booking.create',
        idempotencyKey: bookingId,
        examId: input.examId,
        payload: { ...input, booking_id: bookingId },
        ownerKey: this.ownerKey,
      })
      // A create of the same key on another exam (another row lock) got there first.
      if (
        !intentId ||
        (key && !(await claimKey(tx, { scope: CREATE_SCOPE, key: bookingId, requestHash: key.hash, intentId })))
      ) {
        const stored = key ? await readKey(tx, CREATE_SCOPE, bookingId) : null
        if (key && stored && stored.request_hash !== key.hash) throw keyReused(key.field, bookingId)
        throw writeInProgress(key?.field ?? 'booking_id')
      }
      return { intentId, exam: { date: exam.exam_date, location: exam.location } }
    })
  }

  /** The first answer for this key, or null when the key is free; throws when it names another request or is in flight. */
  async #replay(
    tx: Queryable,
    input: BookingInput,
    bookingId: string,
    key: { hash: string; field: string },
  ): Promise<BookingRecord | null> {
    const stored = await readKey(tx, CREATE_SCOPE, bookingId)
    if (stored && stored.intent_status !== 'failed') {
      if (stored.request_hash !== key.hash) throw keyReused(key.field, bookingId)
      if (stored.response) return stored.response as unknown as BookingRecord
      if (stored.intent_status === 'pending') throw writeInProgress(key.field)
      // Done with no answer stored: recovery finished it after a crash, so the replica has it.
    }
    // No live key (expired, or the booking came from HubSpot): the booking itself says what the key meant.
    const existing = await bookingByKey(tx, bookingId)
    if (!existing) return null
    if (!sameBooking(existing, input)) throw keyReused(key.field, bookingId)
    return existing as unknown as BookingRecord
  }

  #bookingProperties(
    input: BookingInput,
    bookingId: string,
    exam: { date: string | null; location: string | null },
  ): Record<string, string> {
    // Every field the create body carries, by the catalogue; then what the server fills in.
    return bookingToProperties({
      ...input,
      booking_id: bookingId,
      mock_exam_id: input.examId,
      attending_location: input.attending_location ?? exam.location,
      exam_date: exam.date,
      booking_status: 'confirmed',
      is_active: 'true',
    })
  }

  /**
   * HubSpot's write validation refuses a whole batch for one input that breaks a rule, without
   * saying which; halving the batch until the refused inputs stand alone lets the others through.
   */
  async #upsertBookings(items: PendingCreate[]): Promise<Array<UpsertResult | Error>> {
    try {
      return await this.#upsertBatch(items)
    } catch (error) {
      if (!(error instanceof AppError && error.code === 'E_HUBSPOT_VALIDATION')) throw error
      if (items.length === 1) return [error]
      const half = Math.ceil(items.length / 2)
      const [front, back] = await Promise.all([
        this.#upsertBookings(items.slice(0, half)),
        this.#upsertBookings(items.slice(half)),
      ])
      return [...front, ...back]
    }
  }

  async #upsertBatch(items: PendingCreate[]): Promise<Array<UpsertResult | Error>> {
    const types = await this.#hubspot.objectTypes()
    const result = await this.#hubspot.crm.batchUpsert(
      types.bookings,
      'booking_id',
      items.map((item) => ({ id: item.bookingId, properties: item.properties })),
    )
    const byKey = new Map(result.results.map((object) => [object.properties.booking_id, object]))
    return items.map(
      (item) =>
        byKey.get(item.bookingId) ??
        new AppError(
          'E_HUBSPOT_REJECTED',
          `HubSpot did not create booking ${item.bookingId}: ${result.errors?.[0]?.message ?? 'no result'}`,
        ),
    )
  }

  async cancelBooking(hubspotId: string, subject?: string): Promise<BookingRecord> {
    const [outcome] = await this.cancelBookings([hubspotId], subject)
    if (!outcome.success) throw outcome.error
    return outcome.booking
  }

  /**
   * Cancels any number of bookings, 100 per HubSpot batch, with one outcome per distinct id (in
   * the order first given): a conflict on one row is that row's answer, never the request's.
   */
  async cancelBookings(hubspotIds: readonly string[], subject?: string): Promise<CancelOutcome[]> {
    const ids = [...new Set(hubspotIds)]
    const { accepted, outcomes } = await this.#guardCancels(ids, subject)
    const done = new Map<string, CancelOutcome>(outcomes.map((o) => [o.id, o]))
    if (accepted.length > 0) {
      const types = await this.#hubspot.objectTypes()
      for (const chunk of chunks(accepted, BATCH_MAX)) {
        for (const outcome of await this.#cancelChunk(types.bookings, chunk, subject)) done.set(outcome.id, outcome)
      }
    }
    return ids.map((id) => done.get(id) as CancelOutcome)
  }

  /**
   * Under the bookings' row locks (taken in id order): each id is not found, already cancelled,
   * being cancelled by a pending intent, having its attendance written (I10), or accepted. The intents go in as one statement whose
   * conflicts are skipped rather than raised, so no row can abort the transaction of the others.
   */
  async #guardCancels(
    ids: string[],
    subject: string | undefined,
  ): Promise<{ accepted: Array<{ id: string; intentId: string; examId: string | null }>; outcomes: CancelOutcome[] }> {
    return this.#db.transaction(async (tx) => {
      const rows = new Map((await lockBookings(tx, ids)).map((row) => [row.hubspot_id, row]))
      const inFlight = await pendingBookingWrites(tx, ids)
      const outcomes: CancelOutcome[] = []
      const refuse = (id: string, error: AppError) => outcomes.push({ id, success: false, error })
      const candidates: Array<{ id: string; examId: string | null }> = []
      for (const id of ids) {
        const row = rows.get(id)
        if (!row || row.deleted) refuse(id, bookingNotFound(id))
        else if (row.booking_status === 'cancelled') refuse(id, alreadyCancelled(id))
        else if (inFlight.get(id) === 'booking.attendance') refuse(id, writeInProgress('id'))
        else candidates.push({ id, examId: row.mock_exam_id })
      }
      const intentIds = await insertIntents(
        tx,
        candidates.map(({ id, examId }) => ({
          kind: 'booking.cancel' as const,
          // The key lives as long as the pending intent: cancelled again after a re-confirm is a new cancel.
          idempotencyKey: `cancel:${id}`,
          examId,
          targetId: id,
          payload: { subject: subject ?? null },
          ownerKey: this.ownerKey,
        })),
      )
      const accepted: Array<{ id: string; intentId: string; examId: string | null }> = []
      candidates.forEach(({ id, examId }, i) => {
        const intentId = intentIds[i]
        if (intentId) accepted.push({ id, intentId, examId })
        else refuse(id, cancelInProgress(id))
      })
      return { accepted, outcomes }
    })
  }

  async #cancelChunk(
    type: string,
    chunk: Array<{ id: string; intentId: string; examId: string | null }>,
    subject: string | undefined,
  ): Promise<CancelOutcome[]> {
    const properties = toProperties({ booking_status: 'cancelled', is_active: 'false' })
    let result
    try {
      result = await this.#hubspot.crm.batchUpdate(
        type,
        chunk.map(({ id }) => ({ id, properties })),
      )
    } catch (error) {
      await failIntents(
        this.#db,
        chunk.map((c) => c.intentId),
        (error as Error).message,
      )
      const appError =
        error instanceof AppError ? error : new AppError('E_HUBSPOT_UNAVAILABLE', 'HubSpot failed', { cause: error })
      return chunk.map(({ id }) => ({ id, success: false, error: appError }))
    }
    const records = new Map(result.results.map((object) => [object.id, bookingFromHubSpot(object)]))
    crashPoint('booking.cancel')
    const missing = chunk.filter(({ id }) => !records.has(id))
    await this.#db.transaction(async (tx) => {
      await upsertBookings(tx, [...records.values()], 'write', { origin: byHubmirror(subject) })
      await completeIntents(
        tx,
        chunk.filter(({ id }) => records.has(id)).map((c) => c.intentId),
      )
    })
    await failIntents(
      this.#db,
      missing.map((c) => c.intentId),
      'not found in HubSpot',
    )
    const examIds = chunk.map((c) => c.examId).filter((id): id is string => id !== null)
    await this.counter.refreshQuietly(examIds)
    await this.#cache.invalidate([deps.examCollection, ...examIds.map(deps.exam)])
    return chunk.map(({ id }) => {
      const booking = records.get(id)
      return booking
        ? { id, success: true, booking }
        : {
            id,
            success: false,
            error: bookingNotInHubSpot(id),
          }
    })
  }

  // ── attendance ──────────────────────────────────────────────────────────────

  /**
   * Marks attendance (and where the student sat) on any number of bookings, 100 per HubSpot batch,
   * one outcome per update in the order given: HubSpot first, journaled, per row like batch-cancel.
   * A booking that already reads as asked is answered `changed: false` without a HubSpot call, so
   * a retried request changes nothing twice. Ids must be distinct (the route refuses duplicates).
   */
  async setAttendance(updates: readonly AttendanceUpdate[], subject?: string): Promise<AttendanceOutcome[]> {
    const { accepted, outcomes } = await this.#guardAttendance(updates, subject)
    const done = new Map<string, AttendanceOutcome>(outcomes.map((o) => [o.id, o]))
    if (accepted.length > 0) {
      const types = await this.#hubspot.objectTypes()
      for (const chunk of chunks(accepted, BATCH_MAX)) {
        for (const outcome of await this.#attendanceChunk(types.bookings, chunk, subject)) done.set(outcome.id, outcome)
      }
    }
    return updates.map(({ id }) => done.get(id) as AttendanceOutcome)
  }

  /**
   * Under the bookings' row locks: not found, cancelled (I10), being cancelled or having its
   * attendance written by another request, already as asked, or accepted with a journaled intent.
   */
  async #guardAttendance(
    updates: readonly AttendanceUpdate[],
    subject: string | undefined,
  ): Promise<{ accepted: AcceptedAttendance[]; outcomes: AttendanceOutcome[] }> {
    const ids = updates.map((u) => u.id)
    return this.#db.transaction(async (tx) => {
      const rows = new Map((await lockBookings(tx, ids)).map((row) => [row.hubspot_id, row]))
      const inFlight = await pendingBookingWrites(tx, ids)
      const outcomes: AttendanceOutcome[] = []
      const refuse = (id: string, error: AppError) => outcomes.push({ id, success: false, error })
      const candidates: Array<{ update: AttendanceUpdate; examId: string | null }> = []
      const unchanged: string[] = []
      for (const update of updates) {
        const { id } = update
        const row = rows.get(id)
        if (!row || row.deleted) refuse(id, bookingNotFound(id))
        else if (row.booking_status === 'cancelled') refuse(id, bookingCancelled(id))
        else if (inFlight.get(id) === 'booking.cancel') refuse(id, cancelInProgress(id))
        else if (
          (update.attendance === undefined || update.attendance === row.attendance) &&
          (update.attending_location === undefined || update.attending_location === row.attending_location)
        )
          unchanged.push(id)
        else candidates.push({ update, examId: row.mock_exam_id })
      }
      if (unchanged.length > 0)
        for (const booking of await bookingsById(tx, unchanged))
          outcomes.push({ id: booking.hubspot_id, success: true, changed: false, booking })
      const intentIds = await insertIntents(
        tx,
        candidates.map(({ update, examId }) => ({
          kind: 'booking.attendance' as const,
          // One attendance write per booking at a time; the key frees once it is done or failed.
          idempotencyKey: `attendance:${update.id}`,
          examId,
          targetId: update.id,
          payload: { ...update, subject: subject ?? null },
          ownerKey: this.ownerKey,
        })),
      )
      const accepted: AcceptedAttendance[] = []
      candidates.forEach(({ update, examId }, i) => {
        const intentId = intentIds[i]
        if (intentId) accepted.push({ update, intentId, examId })
        else refuse(update.id, writeInProgress('id'))
      })
      return { accepted, outcomes }
    })
  }

  async #attendanceChunk(
    type: string,
    chunk: AcceptedAttendance[],
    subject: string | undefined,
  ): Promise<AttendanceOutcome[]> {
    let result
    try {
      result = await this.#hubspot.crm.batchUpdate(
        type,
        chunk.map(({ update }) => ({ id: update.id, properties: attendanceProperties(update) })),
      )
    } catch (error) {
      await failIntents(
        this.#db,
        chunk.map((c) => c.intentId),
        (error as Error).message,
      )
      const appError =
        error instanceof AppError ? error : new AppError('E_HUBSPOT_UNAVAILABLE', 'HubSpot failed', { cause: error })
      return chunk.map(({ update }) => ({ id: update.id, success: false, error: appError }))
    }
    const records = new Map(result.results.map((object) => [object.id, bookingFromHubSpot(object)]))
    crashPoint('booking.attendance')
    const missing = chunk.filter(({ update }) => !records.has(update.id))
    await this.#db.transaction(async (tx) => {
      await upsertBookings(tx, [...records.values()], 'write', { origin: byHubmirror(subject) })
      await completeIntents(
        tx,
        chunk.filter(({ update }) => records.has(update.id)).map((c) => c.intentId),
      )
    })
    await failIntents(
      this.#db,
      missing.map((c) => c.intentId),
      'not found in HubSpot',
    )
    const examIds = chunk.map((c) => c.examId).filter((id): id is string => id !== null)
    await this.#cache.invalidate([deps.examCollection, ...examIds.map(deps.exam)])
    return chunk.map(({ update }) => {
      const booking = records.get(update.id)
      return booking
        ? { id: update.id, success: true, changed: true, booking }
        : { id: update.id, success: false, error: bookingNotInHubSpot(update.id) }
    })
  }

  // ── exams ───────────────────────────────────────────────────────────────────

  async createExam(fields: ExamInput, subject?: string): Promise<ExamRecord> {
    const intentId = await this.#db.transaction((tx) =>
      this.#intent(tx, { kind: 'exam.create', payload: { ...fields } }),
    )
    const types = await this.#hubspot.objectTypes()
    const object = await this.#hubspotStep(intentId, () =>
      this.#hubspot.crm.create(
        types.exams,
        toProperties({ ...fields, total_bookings: 0, is_active: fields.is_active ?? true }),
      ),
    )
    return this.#commitExam(intentId, examFromHubSpot(object), subject)
  }

  async updateExam(examId: string, fields: ExamFields, subject?: string): Promise<ExamRecord> {
    const intentId = await this.#db.transaction(async (tx) => {
      const exam = await lockExam(tx, examId)
      if (!exam || exam.deleted) throw examNotFound(examId)
      if (fields.capacity !== undefined) {
        // Counts creates in flight: they hold their seats from their guard on.
        const { taken } = await examReservation(tx, examId)
        if (fields.capacity < taken) throw capacityBelowBookings(taken)
      }
      return this.#intent(tx, { kind: 'exam.update', examId, targetId: examId, payload: { ...fields } })
    })
    const types = await this.#hubspot.objectTypes()
    const object = await this.#hubspotStep(intentId, () =>
      this.#hubspot.crm.update(types.exams, examId, toProperties({ ...fields })),
    )
    if (!object) {
      await failIntents(this.#db, [intentId], 'not found in HubSpot')
      throw examNotInHubSpot(examId)
    }
    return this.#commitExam(intentId, examFromHubSpot(object), subject)
  }

  async archiveExam(examId: string, subject?: string): Promise<void> {
    const intentId = await this.#db.transaction(async (tx) => {
      const exam = await lockExam(tx, examId)
      if (!exam || exam.deleted) throw examNotFound(examId)
      return this.#intent(tx, { kind: 'exam.archive', examId, targetId: examId, payload: {} })
    })
    const types = await this.#hubspot.objectTypes()
    await this.#hubspotStep(intentId, () => this.#hubspot.crm.archive(types.exams, examId))
    await this.#db.transaction(async (tx) => {
      await softDeleteExams(tx, [examId], new Date(), 'write', byHubmirror(subject))
      await completeIntents(tx, [intentId])
    })
    await this.#cache.invalidate([deps.exam(examId), deps.examCollection])
  }

  async #commitExam(intentId: string, exam: ExamRecord, subject: string | undefined): Promise<ExamRecord> {
    await this.#db.transaction(async (tx) => {
      await upsertExams(tx, [exam], 'write', { origin: byHubmirror(subject) })
      await completeIntents(tx, [intentId], { hubspot_id: exam.hubspot_id })
    })
    await this.#cache.invalidate([deps.exam(exam.hubspot_id), deps.examCollection])
    return exam
  }

  /** A failed HubSpot call fails its intent, so nothing is left half-done. */
  async #hubspotStep<T>(intentId: string, call: () => Promise<T>): Promise<T> {
    try {
      return await call()
    } catch (error) {
      await failIntents(this.#db, [intentId], (error as Error).message)
      throw error
    }
  }

  async #intent(tx: Queryable, intent: Omit<NewIntent, 'ownerKey'>): Promise<string> {
    const id = await insertIntent(tx, { ...intent, ownerKey: this.ownerKey })
    if (!id) throw writeInProgress('id')
    return id
  }
}

interface AcceptedAttendance {
  update: AttendanceUpdate
  intentId: string
  examId: string | null
}

/** The HubSpot properties an attendance update sets (attendance in HubSpot's own values). */
export function attendanceProperties(update: AttendanceUpdate): Record<string, string> {
  return bookingToProperties(update)
}

/** A booking already under this key (its key expired, or it came from HubSpot) answers the same request only. */
function sameBooking(existing: Record<string, unknown>, input: BookingInput): boolean {
  const { examId, booking_id: _key, ...fields } = input
  const expected: Record<string, unknown> = { mock_exam_id: examId, ...fields }
  return Object.entries(expected).every(([field, value]) => value === undefined || existing[field] === value)
}

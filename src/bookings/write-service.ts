// The write path: validate → guard → HubSpot → replica + change log (one transaction) → invalidate.
import { randomInt, randomUUID } from 'node:crypto'
import { deps, type ResponseCache } from '../cache/index.js'
import {
  alreadyCancelled,
  AppError,
  bookingIdTaken,
  bookingNotFound,
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
  BURST_WINDOW_MS,
  bookingFromHubSpot,
  examFromHubSpot,
  toProperties,
  type HubSpot,
  type UpsertResult,
} from '../hubspot/index.js'
import type { Logger } from '../logger.js'
import { chunks } from '../model/chunks.js'
import type { BookingInput, BookingRecord, ExamInput, ExamRecord } from '../model/records.js'
import { softDeleteExams, upsertBookings, upsertExams, type ReplicaDriver } from '../replica/index.js'
import { Batcher } from './batcher.js'
import { crashPoint } from './crash-point.js'
import { ExamCounter } from './exam-counter.js'
import { bookingByKey, driftedCounts, lockBookings, lockExam, seatsTaken } from './guards.js'
import { completeIntents, failIntents, insertIntent, type NewIntent } from './intents.js'
import { IntentRecovery } from './recovery.js'

export type ExamFields = Partial<ExamInput>
export type { BookingInput }

export type CancelOutcome =
  { id: string; success: true; booking: BookingRecord } | { id: string; success: false; error: AppError }

interface PendingCreate {
  bookingId: string
  properties: Record<string, string>
}

export interface WriteServiceOptions {
  db: ReplicaDriver
  hubspot: HubSpot
  cache: ResponseCache
  logger: Logger
  /** HubSpot's burst limit per 10 s: batches are paced to it. */
  rateLimit10s: number
}

export class WriteService {
  readonly ownerKey = randomInt(1, 2 ** 31 - 1)
  readonly counter: ExamCounter
  readonly recovery: IntentRecovery
  readonly #db: ReplicaDriver
  readonly #hubspot: HubSpot
  readonly #cache: ResponseCache
  readonly #creates: Batcher<PendingCreate, UpsertResult>
  #releaseLiveness: (() => Promise<void>) | null = null

  constructor(options: WriteServiceOptions) {
    this.#db = options.db
    this.#hubspot = options.hubspot
    this.#cache = options.cache
    // Creates and counter updates share the burst budget: each may fly at half its refill rate.
    const pacingMs = Math.round((2 * BURST_WINDOW_MS) / options.rateLimit10s)
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
    await this.recovery.resolvePending()
    // Bookings committed by a process killed before its counter flight left: no intent covers
    // that gap, so HubSpot's total_bookings is compared with the replica's bookings instead.
    await this.counter.refreshQuietly(await driftedCounts(this.#db))
  }

  async stop(): Promise<void> {
    await this.#releaseLiveness?.()
  }

  // ── bookings ────────────────────────────────────────────────────────────────

  async createBooking(input: BookingInput): Promise<{ booking: BookingRecord; created: boolean }> {
    const bookingId = input.booking_id ?? randomUUID()
    const guarded = await this.#guardCreate(input, bookingId)
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
      await upsertBookings(tx, [booking], 'write')
      await completeIntents(tx, [guarded.intentId], { hubspot_id: booking.hubspot_id })
    })
    await this.counter.refreshQuietly([input.examId])
    await this.#cache.invalidate([deps.exam(input.examId), deps.examCollection])
    return { booking, created: result.new !== false }
  }

  async #guardCreate(
    input: BookingInput,
    bookingId: string,
  ): Promise<{ replay: BookingRecord } | { intentId: string; exam: { date: string | null; location: string | null } }> {
    return this.#db.transaction(async (tx) => {
      const exam = await lockExam(tx, input.examId)
      if (!exam || exam.deleted) throw examNotFound(input.examId, 'examId')
      const existing = await bookingByKey(tx, bookingId)
      if (existing) {
        if (existing.mock_exam_id !== input.examId) throw bookingIdTaken(bookingId)
        return { replay: existing as unknown as BookingRecord }
      }
      if (exam.is_active !== 'true') throw examInactive(input.examId)
      const taken = await seatsTaken(tx, input.examId)
      if (exam.capacity !== null && taken >= exam.capacity) {
        throw examFull(input.examId, taken, exam.capacity)
      }
      const intentId = await this.#intent(tx, {
        kind: 'booking.create',
        idempotencyKey: bookingId,
        examId: input.examId,
        payload: { ...input, booking_id: bookingId },
      })
      const { rows } = await tx.query<{ exam_date: string | null; location: string | null }>(
        'SELECT exam_date::text, location FROM public.hubspot_mock_exams WHERE hubspot_id = $1',
        [input.examId],
      )
      return { intentId, exam: { date: rows[0]?.exam_date ?? null, location: rows[0]?.location ?? null } }
    })
  }

  #bookingProperties(
    input: BookingInput,
    bookingId: string,
    exam: { date: string | null; location: string | null },
  ): Record<string, string> {
    return toProperties({
      booking_id: bookingId,
      mock_exam_id: input.examId,
      student_name: input.student_name,
      student_email: input.student_email,
      student_id: input.student_id,
      contact_id: input.contact_id,
      dominant_hand: input.dominant_hand,
      attending_location: input.attending_location ?? exam.location,
      exam_date: exam.date,
      booking_status: 'confirmed',
      is_active: 'true',
    })
  }

  async #upsertBookings(items: PendingCreate[]): Promise<Array<UpsertResult | Error>> {
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

  async cancelBooking(hubspotId: string): Promise<BookingRecord> {
    const [outcome] = await this.cancelBookings([hubspotId])
    if (!outcome.success) throw outcome.error
    return outcome.booking
  }

  /** Cancels up to any number of bookings, 100 per HubSpot batch, reporting per id. */
  async cancelBookings(hubspotIds: readonly string[]): Promise<CancelOutcome[]> {
    const ids = [...new Set(hubspotIds)]
    const { accepted, outcomes } = await this.#guardCancels(ids)
    const done = new Map<string, CancelOutcome>(outcomes.map((o) => [o.id, o]))
    const types = await this.#hubspot.objectTypes()
    for (const chunk of chunks(accepted, BATCH_MAX)) {
      for (const outcome of await this.#cancelChunk(types.bookings, chunk)) done.set(outcome.id, outcome)
    }
    return hubspotIds.map((id) => done.get(id) as CancelOutcome)
  }

  async #guardCancels(
    ids: string[],
  ): Promise<{ accepted: Array<{ id: string; intentId: string; examId: string | null }>; outcomes: CancelOutcome[] }> {
    return this.#db.transaction(async (tx) => {
      const rows = new Map((await lockBookings(tx, ids)).map((row) => [row.hubspot_id, row]))
      const accepted: Array<{ id: string; intentId: string; examId: string | null }> = []
      const outcomes: CancelOutcome[] = []
      for (const id of ids) {
        const row = rows.get(id)
        const refuse = (error: AppError) => outcomes.push({ id, success: false, error })
        if (!row || row.deleted) refuse(bookingNotFound(id))
        else if (row.booking_status === 'cancelled') refuse(alreadyCancelled(id))
        else {
          const intentId = await insertIntent(tx, {
            kind: 'booking.cancel',
            idempotencyKey: `cancel:${id}:${row.booking_status}`,
            examId: row.mock_exam_id,
            targetId: id,
            payload: {},
            ownerKey: this.ownerKey,
          })
          if (intentId) accepted.push({ id, intentId, examId: row.mock_exam_id })
          else refuse(alreadyCancelled(id, true))
        }
      }
      return { accepted, outcomes }
    })
  }

  async #cancelChunk(
    type: string,
    chunk: Array<{ id: string; intentId: string; examId: string | null }>,
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
      await upsertBookings(tx, [...records.values()], 'write')
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

  // ── exams ───────────────────────────────────────────────────────────────────

  async createExam(fields: ExamInput): Promise<ExamRecord> {
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
    return this.#commitExam(intentId, examFromHubSpot(object))
  }

  async updateExam(examId: string, fields: ExamFields): Promise<ExamRecord> {
    const intentId = await this.#db.transaction(async (tx) => {
      const exam = await lockExam(tx, examId)
      if (!exam || exam.deleted) throw examNotFound(examId)
      if (fields.capacity !== undefined) {
        const taken = await seatsTaken(tx, examId)
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
    return this.#commitExam(intentId, examFromHubSpot(object))
  }

  async archiveExam(examId: string): Promise<void> {
    const intentId = await this.#db.transaction(async (tx) => {
      const exam = await lockExam(tx, examId)
      if (!exam || exam.deleted) throw examNotFound(examId)
      return this.#intent(tx, { kind: 'exam.archive', examId, targetId: examId, payload: {} })
    })
    const types = await this.#hubspot.objectTypes()
    await this.#hubspotStep(intentId, () => this.#hubspot.crm.archive(types.exams, examId))
    await this.#db.transaction(async (tx) => {
      await softDeleteExams(tx, [examId], new Date(), 'write')
      await completeIntents(tx, [intentId])
    })
    await this.#cache.invalidate([deps.exam(examId), deps.examCollection])
  }

  async #commitExam(intentId: string, exam: ExamRecord): Promise<ExamRecord> {
    await this.#db.transaction(async (tx) => {
      await upsertExams(tx, [exam], 'write')
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

  async #intent(tx: Parameters<typeof insertIntent>[0], intent: Omit<NewIntent, 'ownerKey'>): Promise<string> {
    const id = await insertIntent(tx, { ...intent, ownerKey: this.ownerKey })
    if (!id) throw writeInProgress()
    return id
  }
}

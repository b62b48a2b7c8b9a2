// Booking writes: create (batched, idempotent), cancel and attendance, each HubSpot first, then one replica transaction.
import { randomUUID } from 'node:crypto'
import {
  alreadyCancelled,
  AppError,
  bookingCancelled,
  bookingNotFound,
  cancelInProgress,
  examArchiving,
  keyReused,
  bookingNotInHubSpot,
  examFull,
  examInactive,
  examNotFound,
  writeInProgress,
} from '../errors.js'
import {
  BATCH_MAX,
  bookingFromHubSpot,
  bookingToProperties,
  toProperties,
  type HubSpot,
  type UpsertResult,
} from '../hubspot/index.js'
import type { Logger } from '../logger.js'
import { chunks } from '../model/chunks.js'
import type { Attendance, BookingInput, BookingRecord } from '../model/records.js'
import {
  answerKey,
  bookingsById,
  claimKey,
  completeIntents,
  examReservation,
  failIntents,
  insertIntent,
  insertIntents,
  lockBookings,
  lockExam,
  pendingBookingWrites,
  pruneKeys,
  readKey,
  upsertBookings,
  type ReplicaDriver,
} from '../replica/index.js'
import { upsertBookingBatch, type PendingCreate } from './batch-bisection.js'
import { Batcher } from './batcher.js'
import { CREATE_SCOPE, createKey, PRUNE_EVERY_CREATES, replayCreate, type CreateKey } from './create-keys.js'
import { crashPoint } from './crash-point.js'
import type { ExamCounter } from './exam-counter.js'
import { byHubmirror } from './write-origin.js'

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

/** Who sent a create, and where its key came from: the key is bound to both. */
export interface CreateRequest {
  /** The token's subject, named in the change log as who made the booking. */
  subject?: string
  /** Whom the idempotency key belongs to (one per token without a subject): the same body from someone else is another request. */
  scope?: string
  /** How the client named the key (`Idempotency-Key` or `booking_id`), for the errors about it. */
  keyField?: string
}

type CreateGuard =
  { replay: BookingRecord } | { intentId: string; exam: { date: string | null; location: string | null } }

export interface BookingWritesOptions {
  db: ReplicaDriver
  hubspot: HubSpot
  logger: Logger
  counter: ExamCounter
  ownerKey: number
  /** Least time between two batch upserts (the write service's share of the burst budget). */
  pacingMs: () => number
}

export class BookingWrites {
  readonly #db: ReplicaDriver
  readonly #hubspot: HubSpot
  readonly #logger: Logger
  readonly #counter: ExamCounter
  readonly ownerKey: number
  readonly #creates: Batcher<PendingCreate, UpsertResult>
  #createsSincePrune = 0

  constructor(options: BookingWritesOptions) {
    this.#db = options.db
    this.#hubspot = options.hubspot
    this.#logger = options.logger
    this.#counter = options.counter
    this.ownerKey = options.ownerKey
    // Concurrent creates share one batch upsert: HubSpot's limit counts calls, not objects.
    this.#creates = new Batcher({
      maxBatch: BATCH_MAX,
      maxInFlight: 4,
      minIntervalMs: options.pacingMs,
      run: (items) => upsertBookingBatch(this.#hubspot, items),
    })
  }

  /** Expired idempotency keys go, a bounded batch at a time; a failure only logs. */
  async pruneKeys(): Promise<void> {
    await pruneKeys(this.#db).catch((error) => this.#logger.warn({ err: error }, 'expired idempotency keys not pruned'))
  }

  /**
   * A create with a key (booking_id, or the Idempotency-Key header) is bound to its request: the
   * same request again gets the first answer (created: false), another request with the key 422.
   */
  async createBooking(
    input: BookingInput,
    request: CreateRequest = {},
  ): Promise<{ booking: BookingRecord; created: boolean }> {
    const bookingId = input.booking_id ?? randomUUID()
    const key = createKey(input, bookingId, request)
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
    // Committed is readable (the commit bumped the exam's generations): the answer need not wait
    // for the exam's total_bookings, which follows it (exam-counter.ts).
    this.#counter.owe([input.examId])
    if (++this.#createsSincePrune >= PRUNE_EVERY_CREATES) {
      this.#createsSincePrune = 0
      void this.pruneKeys()
    }
    return { booking, created: result.new !== false }
  }

  /**
   * Under the exam's row lock: the key first (a retry of a booking that went through is answered
   * even if the exam has filled up since), then the exam as it stands and as its in-flight updates
   * could leave it. The lock serialises every guard of the exam across instances, so what is
   * journaled here (the intent, the key) is part of what the next guard reads.
   */
  async #guardCreate(input: BookingInput, bookingId: string, key: CreateKey | null): Promise<CreateGuard> {
    return this.#db.transaction(async (tx) => {
      const exam = await lockExam(tx, input.examId)
      if (key) {
        const replay = await replayCreate(tx, input, bookingId, key)
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
    const done = await this.#inBatches(accepted, outcomes, (type, chunk) => this.#cancelChunk(type, chunk, subject))
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

  /**
   * The outcomes already decided, plus those of the accepted rows sent to HubSpot 100 at a time
   * (one batch per call, the same for cancels and attendance), by id.
   */
  async #inBatches<Accepted, Outcome extends { id: string }>(
    accepted: Accepted[],
    decided: Outcome[],
    send: (bookingsType: string, chunk: Accepted[]) => Promise<Outcome[]>,
  ): Promise<Map<string, Outcome>> {
    const done = new Map(decided.map((outcome) => [outcome.id, outcome]))
    if (accepted.length === 0) return done
    const types = await this.#hubspot.objectTypes()
    for (const chunk of chunks(accepted, BATCH_MAX)) {
      for (const outcome of await send(types.bookings, chunk)) done.set(outcome.id, outcome)
    }
    return done
  }

  /**
   * One HubSpot batch update for journaled intents: the updated bookings by id, or, when HubSpot
   * refuses or fails, every intent of the batch marked failed and the error to answer each with.
   */
  async #updateOrFailIntents(
    type: string,
    updates: Array<{ id: string; properties: Record<string, string>; intentId: string }>,
  ): Promise<Map<string, BookingRecord> | AppError> {
    try {
      const result = await this.#hubspot.crm.batchUpdate(
        type,
        updates.map(({ id, properties }) => ({ id, properties })),
      )
      return new Map(result.results.map((object) => [object.id, bookingFromHubSpot(object)]))
    } catch (error) {
      await failIntents(
        this.#db,
        updates.map((update) => update.intentId),
        (error as Error).message,
      )
      return error instanceof AppError
        ? error
        : new AppError('E_HUBSPOT_UNAVAILABLE', 'HubSpot failed', { cause: error })
    }
  }

  async #cancelChunk(
    type: string,
    chunk: Array<{ id: string; intentId: string; examId: string | null }>,
    subject: string | undefined,
  ): Promise<CancelOutcome[]> {
    const properties = toProperties({ booking_status: 'cancelled', is_active: 'false' })
    const records = await this.#updateOrFailIntents(
      type,
      chunk.map(({ id, intentId }) => ({ id, properties, intentId })),
    )
    if (records instanceof AppError) return chunk.map(({ id }) => ({ id, success: false, error: records }))
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
    this.#counter.owe(examIds)
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
    const done = await this.#inBatches(accepted, outcomes, (type, chunk) => this.#attendanceChunk(type, chunk, subject))
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
    const records = await this.#updateOrFailIntents(
      type,
      chunk.map(({ update, intentId }) => ({ id: update.id, properties: attendanceProperties(update), intentId })),
    )
    if (records instanceof AppError)
      return chunk.map(({ update }) => ({ id: update.id, success: false, error: records }))
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
    return chunk.map(({ update }) => {
      const booking = records.get(update.id)
      return booking
        ? { id: update.id, success: true, changed: true, booking }
        : { id: update.id, success: false, error: bookingNotInHubSpot(update.id) }
    })
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

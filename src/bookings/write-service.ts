// The write path's face for the routes: booking and exam writes over one counter, one recovery, one liveness key.
//
// Every write: validate → guard (journal an intent) → HubSpot → replica + change log (one
// transaction, whose commit bumps the cache and then tells realtime: replica/commit.ts). A booking
// write then owes its exam's total_bookings push (exam-counter.ts), which follows the answer.
import type { HubSpot } from '../hubspot/index.js'
import type { Logger } from '../logger.js'
import type { BookingInput, BookingRecord, ExamInput, ExamRecord } from '../model/records.js'
import { driftedCounts, newOwnerKey, type ReplicaDriver } from '../replica/index.js'
import {
  BookingWrites,
  type AttendanceOutcome,
  type AttendanceUpdate,
  type CancelOutcome,
  type CreateRequest,
} from './booking-writes.js'
import { ExamCounter } from './exam-counter.js'
import { ExamWrites, type ExamFields } from './exam-writes.js'
import { IntentRecovery } from './recovery.js'

export type { AttendanceOutcome } from './booking-writes.js'

export interface WriteServiceOptions {
  db: ReplicaDriver
  hubspot: HubSpot
  logger: Logger
}

export class WriteService {
  readonly ownerKey = newOwnerKey()
  readonly counter: ExamCounter
  readonly recovery: IntentRecovery
  readonly #db: ReplicaDriver
  readonly #bookings: BookingWrites
  readonly #exams: ExamWrites
  #releaseLiveness: (() => Promise<void>) | null = null

  constructor(options: WriteServiceOptions) {
    this.#db = options.db
    // Creates and counter updates share the burst budget: each may fly at half its refill rate.
    // The refill is what HubSpot's headers state: the configured limit only until the first answer.
    const budget = options.hubspot.client.budget
    const pacingMs = () => {
      const limits = budget.burstLimits()
      return Math.round((2 * limits.windowMs) / Math.max(1, limits.max))
    }
    this.counter = new ExamCounter(options.db, options.hubspot, options.logger, pacingMs, this.ownerKey)
    this.recovery = new IntentRecovery({
      db: options.db,
      hubspot: options.hubspot,
      logger: options.logger,
      counter: this.counter,
      ownerKey: this.ownerKey,
    })
    this.#bookings = new BookingWrites({ ...options, counter: this.counter, ownerKey: this.ownerKey, pacingMs })
    this.#exams = new ExamWrites({ ...options, ownerKey: this.ownerKey })
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
    await this.#bookings.pruneKeys()
  }

  /** Waits for the counter pushes in flight (retries stop), then gives up this instance's liveness. */
  async stop(): Promise<void> {
    await this.counter.stop()
    await this.#releaseLiveness?.()
  }

  /**
   * A create with a key (booking_id, or the Idempotency-Key header) is bound to its request: the
   * same request again gets the first answer (created: false), another request with the key 422.
   */
  createBooking(input: BookingInput, request?: CreateRequest): Promise<{ booking: BookingRecord; created: boolean }> {
    return this.#bookings.createBooking(input, request)
  }

  cancelBooking(hubspotId: string, subject?: string): Promise<BookingRecord> {
    return this.#bookings.cancelBooking(hubspotId, subject)
  }

  /** One outcome per distinct id, in the order first given: a conflict on one row is that row's answer. */
  cancelBookings(hubspotIds: readonly string[], subject?: string): Promise<CancelOutcome[]> {
    return this.#bookings.cancelBookings(hubspotIds, subject)
  }

  /** One outcome per update, in the order given; ids must be distinct (the route refuses duplicates). */
  setAttendance(updates: readonly AttendanceUpdate[], subject?: string): Promise<AttendanceOutcome[]> {
    return this.#bookings.setAttendance(updates, subject)
  }

  createExam(fields: ExamInput, subject?: string): Promise<ExamRecord> {
    return this.#exams.createExam(fields, subject)
  }

  updateExam(examId: string, fields: ExamFields, subject?: string): Promise<ExamRecord> {
    return this.#exams.updateExam(examId, fields, subject)
  }

  archiveExam(examId: string, subject?: string): Promise<void> {
    return this.#exams.archiveExam(examId, subject)
  }
}

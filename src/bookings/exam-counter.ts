// Keeps each exam's total_bookings right in HubSpot and the replica, one batch update for many bookings.
import type { HubSpot } from '../hubspot/index.js'
import { BATCH_MAX, examFromHubSpot, toProperties } from '../hubspot/index.js'
import type { Logger } from '../logger.js'
import {
  bookedCounts,
  completeIntents,
  failIntents,
  insertIntents,
  LOCKS,
  upsertExams,
  type ReplicaDriver,
} from '../replica/index.js'
import { Batcher } from './batcher.js'

const LOCK_POLL_MS = 10
/** A push that failed is tried again after each of these waits, then left to the next write or a restart. */
const RETRY_DELAYS_MS = [500, 2_000, 5_000]

/**
 * A flight reads the counts when it starts, and (maxInFlight 1) every exam in it was submitted
 * before that, so the value written includes the booking that asked for it. Many bookings of one
 * exam share a flight: under load a booking costs about one HubSpot call, not two.
 *
 * A booking write does not wait for its count: it owes a push (owe()) and answers once its own
 * commit is readable. The push follows, and is tried again a few times when it fails; what is
 * still owed when the process dies is found at the next start (driftedCounts).
 */
export class ExamCounter {
  readonly #batcher: Batcher<string, void>

  readonly #db: ReplicaDriver
  readonly #hubspot: HubSpot
  readonly #logger: Logger
  readonly #ownerKey: number
  /** Pushes owed: in flight, queued, or waiting to be tried again. */
  readonly #owed = new Set<Promise<void>>()
  readonly #retryTimers = new Map<NodeJS.Timeout, () => void>()
  #stopped = false

  constructor(
    db: ReplicaDriver,
    hubspot: HubSpot,
    logger: Logger,
    pacingMs: number | (() => number) = 0,
    /** The write service's liveness key: the counter's intents are recovered like its own. */
    ownerKey = 0,
  ) {
    this.#db = db
    this.#hubspot = hubspot
    this.#logger = logger
    this.#ownerKey = ownerKey
    this.#batcher = new Batcher({
      maxBatch: BATCH_MAX,
      maxInFlight: 1,
      minIntervalMs: pacingMs,
      run: (examIds) => this.#flush(examIds),
    })
  }

  /** Resolves once HubSpot and the replica carry a count that includes every booking committed before the call. */
  refresh(examId: string): Promise<void> {
    return this.#batcher.submit(examId)
  }

  /** Best effort: a booking is already safely written when this runs, so a failure only logs. */
  async refreshQuietly(examIds: Iterable<string>): Promise<void> {
    await Promise.all(
      [...new Set(examIds)].map((examId) =>
        this.refresh(examId).catch((error) =>
          this.#logger.warn(
            { err: error, examId },
            'total_bookings not updated; the next write on this exam, or a restart, sets it again',
          ),
        ),
      ),
    )
  }

  /** Pushes these exams' counts after the caller has answered: nothing to await, nothing thrown. */
  owe(examIds: Iterable<string>): void {
    for (const examId of new Set(examIds)) {
      const push = this.#push(examId).finally(() => this.#owed.delete(push))
      this.#owed.add(push)
    }
  }

  /** Pushes owed and not yet done (a metrics gauge). */
  pending(): number {
    return this.#owed.size
  }

  /**
   * Resolves once every push owed so far has landed or been given up (its retries included). Pushes
   * owed later are not waited for, so that a caller under a steady load of writes is not held forever.
   */
  async settled(): Promise<void> {
    await Promise.all([...this.#owed])
  }

  /** No more retries; waits for the pushes in flight (the app closes HubSpot and the replica next). */
  async stop(): Promise<void> {
    this.#stopped = true
    for (const [timer, wake] of this.#retryTimers) {
      clearTimeout(timer)
      wake()
    }
    this.#retryTimers.clear()
    await this.settled()
  }

  async #push(examId: string): Promise<void> {
    for (let attempt = 0; ; attempt++) {
      try {
        return await this.refresh(examId)
      } catch (error) {
        const delay = RETRY_DELAYS_MS[attempt]
        if (delay === undefined || this.#stopped) {
          this.#logger.warn(
            { err: error, examId, attempts: attempt + 1 },
            'total_bookings not updated; the next write on this exam, or a restart, sets it again',
          )
          return
        }
        this.#logger.info({ err: error, examId, retryInMs: delay }, 'total_bookings not updated yet; trying again')
        await this.#wait(delay)
        if (this.#stopped) return
      }
    }
  }

  #wait(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.#retryTimers.delete(timer)
        resolve()
      }, ms)
      this.#retryTimers.set(timer, resolve)
    })
  }

  /**
   * One flight at a time across instances. Two instances' flights interleaving (A reads 9, B reads
   * 10, B writes 10, A writes 9) would leave HubSpot's total_bookings behind for good; taking turns,
   * each flight reads counts that include everything the previous flight wrote.
   */
  async #flush(examIds: string[]): Promise<Array<void | Error>> {
    for (;;) {
      const turn = await this.#db.withTryLock(LOCKS.counter, () => this.#fly(examIds))
      if (turn.acquired) return turn.value
      await new Promise((resolve) => setTimeout(resolve, LOCK_POLL_MS))
    }
  }

  async #fly(examIds: string[]): Promise<Array<void | Error>> {
    const unique = [...new Set(examIds)]
    const counts = await bookedCounts(this.#db, unique)
    const types = await this.#hubspot.objectTypes()
    const inputs = unique
      .filter((id) => counts.has(id))
      .map((id) => ({ id, properties: toProperties({ total_bookings: counts.get(id) }) }))
    if (inputs.length === 0) return examIds.map(() => undefined)
    // Journaled like any exam update: killed after HubSpot applied it, recovery reads the exams back.
    const intentIds = (await insertIntents(
      this.#db,
      inputs.map(({ id, properties }) => ({
        kind: 'exam.update' as const,
        examId: id,
        targetId: id,
        payload: { counter: true, ...properties },
        ownerKey: this.#ownerKey,
      })),
    )) as string[]
    let result
    try {
      result = await this.#hubspot.crm.batchUpdate(types.exams, inputs)
    } catch (error) {
      await failIntents(this.#db, intentIds, (error as Error).message)
      throw error
    }
    const records = result.results.map(examFromHubSpot)
    await this.#db.transaction(async (tx) => {
      await upsertExams(tx, records, 'write')
      await completeIntents(tx, intentIds)
    })
    const failed = new Set(result.errors?.flatMap((e) => e.context?.id ?? []) ?? [])
    return examIds.map((id) => (failed.has(id) ? new Error(`exam ${id}: total_bookings not updated`) : undefined))
  }
}

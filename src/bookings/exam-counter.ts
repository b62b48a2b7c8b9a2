// Keeps each exam's total_bookings right in HubSpot and the replica, one batch update for many bookings.
import type { ResponseCache } from '../cache/index.js'
import { deps } from '../cache/index.js'
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

/**
 * A flight reads the counts when it starts, and (maxInFlight 1) every exam in it was submitted
 * before that, so the value written includes the booking that asked for it. Many bookings of one
 * exam share a flight: under load a booking costs about one HubSpot call, not two.
 */
export class ExamCounter {
  readonly #batcher: Batcher<string, void>

  readonly #db: ReplicaDriver
  readonly #hubspot: HubSpot
  readonly #cache: ResponseCache
  readonly #logger: Logger
  readonly #ownerKey: number

  constructor(
    db: ReplicaDriver,
    hubspot: HubSpot,
    cache: ResponseCache,
    logger: Logger,
    pacingMs: number | (() => number) = 0,
    /** The write service's liveness key: the counter's intents are recovered like its own. */
    ownerKey = 0,
  ) {
    this.#db = db
    this.#hubspot = hubspot
    this.#cache = cache
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
    await this.#cache.invalidate([deps.examCollection, ...records.map((r) => deps.exam(r.hubspot_id))])
    const failed = new Set(result.errors?.flatMap((e) => e.context?.id ?? []) ?? [])
    return examIds.map((id) => (failed.has(id) ? new Error(`exam ${id}: total_bookings not updated`) : undefined))
  }
}

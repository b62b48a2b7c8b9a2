// Resolves write intents left pending by a crashed instance, by reading HubSpot: nothing lost, nothing doubled.
import {
  BATCH_MAX,
  BOOKING_PROPERTIES,
  bookingFromHubSpot,
  EXAM_PROPERTIES,
  examFromHubSpot,
  type HubSpot,
} from '../hubspot/index.js'
import type { Logger } from '../logger.js'
import {
  completeIntents,
  failIntents,
  pendingIntents,
  softDeleteExams,
  upsertBookings,
  upsertExams,
  type Intent,
  type ReplicaDriver,
  type Transaction,
} from '../replica/index.js'
import { chunks } from '../model/chunks.js'
import type { ExamCounter } from './exam-counter.js'

export interface RecoveryOptions {
  db: ReplicaDriver
  hubspot: HubSpot
  logger: Logger
  counter: ExamCounter
  ownerKey: number
}

export interface RecoveryReport {
  resolved: number
  failed: number
  /** Pending intents left alone because their owner looked alive. */
  heldBack: number
}

/**
 * An intent is an orphan when its owner's liveness lock is free: the instance that wrote it died
 * (or restarted) between journaling and completing. HubSpot then says what really happened.
 */
export class IntentRecovery {
  #running: Promise<RecoveryReport> | null = null

  readonly #options: RecoveryOptions

  constructor(options: RecoveryOptions) {
    this.#options = options
  }

  /** Single-flight within the instance; cheap (one query) when nothing is pending. */
  resolvePending(): Promise<RecoveryReport> {
    this.#running ??= this.#resolve().finally(() => (this.#running = null))
    return this.#running
  }

  async #resolve(): Promise<RecoveryReport> {
    const { db, logger } = this.#options
    const { orphans, heldBack } = await this.#orphans()
    if (orphans.length === 0) return { resolved: 0, failed: 0, heldBack }
    logger.info({ count: orphans.length }, 'recovering unfinished writes from HubSpot')
    const report = { resolved: 0, failed: 0, heldBack }
    const touchedExams = new Set<string>()
    for (const kind of [
      'booking.create',
      'booking.cancel',
      'booking.attendance',
      'exam.update',
      'exam.archive',
      'exam.create',
    ] as const) {
      const group = orphans.filter((intent) => intent.kind === kind)
      for (const chunk of chunks(group, BATCH_MAX)) {
        const outcome = await this.#resolveGroup(kind, chunk)
        report.resolved += outcome.resolved.length
        report.failed += outcome.failed.length
        await failIntents(db, outcome.failed, 'recovered: not applied in HubSpot')
        for (const intent of group) if (intent.exam_id) touchedExams.add(intent.exam_id)
      }
    }
    await this.#options.counter.refreshQuietly(touchedExams)
    logger.info(report, 'recovery done')
    return report
  }

  async #orphans(): Promise<{ orphans: Intent[]; heldBack: number }> {
    const pending = await pendingIntents(this.#options.db, this.#options.ownerKey)
    const owners = [...new Set(pending.map((intent) => intent.owner_key))]
    const alive = new Set<number | null>()
    for (const owner of owners) if (owner !== null && (await this.#options.db.isLocked(owner))) alive.add(owner)
    const orphans = pending.filter((intent) => !alive.has(intent.owner_key))
    return { orphans, heldBack: pending.length - orphans.length }
  }

  async #resolveGroup(kind: Intent['kind'], intents: Intent[]): Promise<{ resolved: string[]; failed: string[] }> {
    const { hubspot } = this.#options
    const types = await hubspot.objectTypes()
    if (kind === 'booking.create') {
      const keys = intents.map((intent) => intent.idempotency_key as string)
      const found = await hubspot.crm.batchRead(types.bookings, keys, [...BOOKING_PROPERTIES], {
        idProperty: 'booking_id',
      })
      const records = found.results.map(bookingFromHubSpot)
      const present = new Set(records.map((r) => r.booking_id))
      return this.#commit(
        intents,
        (i) => present.has(i.idempotency_key),
        (tx) => upsertBookings(tx, records, 'write'),
      )
    }
    if (kind === 'booking.attendance') {
      const found = await hubspot.crm.batchRead(
        types.bookings,
        intents.map((i) => i.target_id as string),
        [...BOOKING_PROPERTIES],
      )
      const records = new Map(found.results.map((o) => [o.id, bookingFromHubSpot(o)]))
      // Landed when HubSpot reads as the intent asked, field by field (a field left out is not asked).
      const landed = (i: Intent) => {
        const record = records.get(i.target_id as string)
        const asked = i.payload as { attendance?: string | null; attending_location?: string | null }
        return (
          record !== undefined &&
          (asked.attendance === undefined || record.attendance === asked.attendance) &&
          (asked.attending_location === undefined || record.attending_location === asked.attending_location)
        )
      }
      const origins = new Map(
        intents.map((i) => [
          i.target_id as string,
          { kind: 'hubmirror' as const, subject: (i.payload.subject as string | null) ?? null },
        ]),
      )
      return this.#commit(intents, landed, (tx) => upsertBookings(tx, [...records.values()], 'write', { origins }))
    }
    if (kind === 'booking.cancel') {
      const found = await hubspot.crm.batchRead(
        types.bookings,
        intents.map((i) => i.target_id as string),
        [...BOOKING_PROPERTIES],
      )
      const records = found.results.map(bookingFromHubSpot)
      const cancelled = new Set(records.filter((r) => r.booking_status === 'cancelled').map((r) => r.hubspot_id))
      return this.#commit(
        intents,
        (i) => cancelled.has(i.target_id as string),
        (tx) => upsertBookings(tx, records, 'write'),
      )
    }
    if (kind === 'exam.update' || kind === 'exam.archive') {
      const ids = intents.map((i) => i.target_id as string)
      const live = await hubspot.crm.batchRead(types.exams, ids, [...EXAM_PROPERTIES])
      const records = live.results.map(examFromHubSpot)
      const liveIds = new Set(records.map((r) => r.hubspot_id))
      // An update is settled either way once the replica holds HubSpot's current version.
      const applied = (i: Intent) => (kind === 'exam.archive' ? !liveIds.has(i.target_id as string) : true)
      return this.#commit(intents, applied, async (tx) => {
        await upsertExams(tx, records, 'write')
        if (kind === 'exam.archive')
          await softDeleteExams(
            tx,
            ids.filter((id) => !liveIds.has(id)),
            new Date(),
            'write',
          )
      })
    }
    // An exam create has no idempotency key in HubSpot; if it did land, the next pull brings it in.
    return { resolved: [], failed: intents.map((i) => i.id) }
  }

  async #commit(intents: Intent[], applied: (intent: Intent) => boolean, write: (tx: Transaction) => Promise<unknown>) {
    const resolved = intents.filter(applied).map((i) => i.id)
    const failed = intents.filter((i) => !applied(i)).map((i) => i.id)
    await this.#options.db.transaction(async (tx) => {
      await write(tx)
      await completeIntents(tx, resolved, { recovered: true })
    })
    return { resolved, failed }
  }
}

// Exam writes: create, update (not below the seats taken) and archive, each journaled, HubSpot first, then the replica.
import { capacityBelowBookings, examNotFound, examNotInHubSpot, writeInProgress } from '../errors.js'
import { examFromHubSpot, toProperties, type HubSpot } from '../hubspot/index.js'
import type { ExamInput, ExamRecord } from '../model/records.js'
import {
  completeIntents,
  examReservation,
  failIntents,
  insertIntent,
  lockExam,
  softDeleteExams,
  upsertExams,
  type NewIntent,
  type Queryable,
  type ReplicaDriver,
} from '../replica/index.js'
import { byHubmirror } from './write-origin.js'

export type ExamFields = Partial<ExamInput>

export class ExamWrites {
  readonly #db: ReplicaDriver
  readonly #hubspot: HubSpot
  readonly #ownerKey: number

  constructor(options: { db: ReplicaDriver; hubspot: HubSpot; ownerKey: number }) {
    this.#db = options.db
    this.#hubspot = options.hubspot
    this.#ownerKey = options.ownerKey
  }

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
  }

  async #commitExam(intentId: string, exam: ExamRecord, subject: string | undefined): Promise<ExamRecord> {
    await this.#db.transaction(async (tx) => {
      await upsertExams(tx, [exam], 'write', { origin: byHubmirror(subject) })
      await completeIntents(tx, [intentId], { hubspot_id: exam.hubspot_id })
    })
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
    const id = await insertIntent(tx, { ...intent, ownerKey: this.#ownerKey })
    if (!id) throw writeInProgress('id')
    return id
  }
}

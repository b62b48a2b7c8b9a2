// The read path: cache → (miss) replica → cache, answering with ready envelope bytes. Never HubSpot.
import { deps, type CacheEntry, type ResponseCache } from '../cache/index.js'
import { bookingNotFound, examNotFound } from '../errors.js'
import type { ObjectKind } from '../model/records.js'
import {
  examAggregates,
  readHistory,
  type HistoryPage,
  examSeats,
  getExam,
  listExamBookings,
  listExamBookingsPage,
  listExams,
  listExamsPage,
  type ExamFilters,
  type JsonPage,
  type JsonSnapshot,
  type PageRequest,
  type Queryable,
  type SeatsLeft,
} from '../replica/index.js'
import { encodeCursor } from './page-cursor.js'

export interface ReadServiceOptions {
  db: Queryable
  cache: ResponseCache
  /** Called on every read, so that the sync engine can notice a stale replica (on-access pull). */
  onRead?: () => void
}

function envelope(field: string, snapshot: JsonSnapshot): CacheEntry {
  return { body: Buffer.from(`{"success":true,"${field}":${snapshot.json}}`), seq: snapshot.seq }
}

/** A keyset page keeps the list's envelope and adds where the next page starts (null: this is the last). */
function pageEnvelope(field: string, page: JsonPage): CacheEntry {
  const next = page.next ? JSON.stringify(encodeCursor(page.next)) : 'null'
  return { body: Buffer.from(`{"success":true,"${field}":${page.json},"next_cursor":${next}}`), seq: page.seq }
}

function pageKey(request: PageRequest): string {
  return `&l=${request.limit}&c=${request.after ? encodeCursor(request.after) : ''}`
}

async function found(field: string, snapshot: Promise<JsonSnapshot>, examId: string): Promise<CacheEntry> {
  const result = await snapshot
  if (result.json === 'null') throw examNotFound(examId)
  return envelope(field, result)
}

export class ReadService {
  readonly #db: Queryable
  readonly #cache: ResponseCache
  readonly #onRead: () => void

  constructor(options: ReadServiceOptions) {
    this.#db = options.db
    this.#cache = options.cache
    this.#onRead = options.onRead ?? (() => undefined)
  }

  listExams(filters: ExamFilters): Promise<CacheEntry> {
    this.#onRead()
    // Every filter is part of the key: the seed caches all filters under one key, serving one
    // filter's answer to another.
    const key = `exams?a=${filters.isActive ?? ''}&s=${filters.startDate ?? ''}&e=${filters.endDate ?? ''}`
    return this.#cache.get(key, [deps.examCollection], async () =>
      envelope('exams', await listExams(this.#db, filters)),
    )
  }

  /** A keyset page of the list (`limit`, `cursor`); the list without them stays whole, as clients expect. */
  listExamsPage(filters: ExamFilters, request: PageRequest): Promise<CacheEntry> {
    this.#onRead()
    const key = `exams?a=${filters.isActive ?? ''}&s=${filters.startDate ?? ''}&e=${filters.endDate ?? ''}${pageKey(request)}`
    return this.#cache.get(key, [deps.examCollection], async () =>
      pageEnvelope('exams', await listExamsPage(this.#db, filters, request)),
    )
  }

  getExam(examId: string): Promise<CacheEntry> {
    this.#onRead()
    return this.#cache.get(`exam:${examId}`, [deps.exam(examId)], () =>
      found('exam', getExam(this.#db, examId), examId),
    )
  }

  examBookings(examId: string): Promise<CacheEntry> {
    this.#onRead()
    return this.#cache.get(`exam-bookings:${examId}`, [deps.exam(examId)], () =>
      found('bookings', listExamBookings(this.#db, examId), examId),
    )
  }

  /**
   * A record's history, newest first, straight from the replica: it is read about one record at a
   * time by a person, so it is not worth a cache entry invalidated on every change of the record.
   */
  async history(
    kind: ObjectKind,
    hubspotId: string,
    page: { limit: number; cursor?: string | null },
  ): Promise<HistoryPage> {
    const found = await readHistory(this.#db, kind, hubspotId, { before: page.cursor, limit: page.limit })
    if (!found) throw kind === 'exam' ? examNotFound(hubspotId) : bookingNotFound(hubspotId)
    return found
  }

  /**
   * The public seats-left snapshot, `{exam_id, capacity, booked, seats_left, seq}`, cached with the
   * exam's other reads (a change to the exam or its bookings drops it). 404 for an unknown exam.
   * No on-access pull: anonymous callers must not be able to spend the HubSpot budget.
   */
  examSeats(examId: string): Promise<CacheEntry> {
    return this.#cache.get(`exam-seats:${examId}`, [deps.exam(examId)], async () => {
      const seats = await this.currentSeats(examId)
      return { body: Buffer.from(JSON.stringify(seats)), seq: seats.seq }
    })
  }

  /** The same counts straight from the replica (the live seats stream recomputes them after each change). */
  async currentSeats(examId: string): Promise<SeatsLeft> {
    const seats = await examSeats(this.#db, examId)
    if (!seats) throw examNotFound(examId)
    return seats
  }

  examBookingsPage(examId: string, request: PageRequest): Promise<CacheEntry> {
    this.#onRead()
    return this.#cache.get(`exam-bookings:${examId}?${pageKey(request)}`, [deps.exam(examId)], async () => {
      const page = await listExamBookingsPage(this.#db, examId, request)
      if (page.json === 'null') throw examNotFound(examId)
      return pageEnvelope('bookings', page)
    })
  }

  aggregates(): Promise<CacheEntry> {
    this.#onRead()
    return this.#cache.get('aggregates', [deps.examCollection], async () =>
      envelope('aggregates', await examAggregates(this.#db)),
    )
  }
}

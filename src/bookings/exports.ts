// CSV exports of the exam list and of one exam's bookings: replica batches fetched as the download is read.
import { examNotFound } from '../errors.js'
import { BOOKING_CSV_COLUMNS, EXAM_CSV_COLUMNS } from '../model/contract/exports.js'
import {
  examBookingsBatch,
  examsBatch,
  getExam,
  type ExamFilters,
  type ExportBatch,
  type ExportKey,
  type Queryable,
} from '../replica/index.js'

/** Rows per query: small enough that a slow download holds little, large enough that a 10,000-row file is 20 queries. */
export const EXPORT_BATCH_ROWS = 500

export interface TableExport {
  columns: readonly string[]
  /** A plain ASCII file name for Content-Disposition. */
  filename: string
  /** Row batches, each fetched only when the previous one has been taken. */
  batches: AsyncIterable<Record<string, unknown>[]>
}

/**
 * Fetches the first batch now, so that a database outage is a clean 503 before any byte is sent;
 * later batches are fetched one by one as the reader takes them. Each batch is its own snapshot:
 * a change committed mid-download may show in later batches, never a row twice or a row missed
 * that stayed put (the keyset moves on past the last row sent).
 */
async function batched(fetch: (after: ExportKey | null) => Promise<ExportBatch>) {
  const first = await fetch(null)
  return (async function* () {
    let batch = first
    yield batch.rows
    while (batch.next) {
      batch = await fetch(batch.next)
      yield batch.rows
    }
  })()
}

export async function exportExams(
  db: Queryable,
  filters: ExamFilters,
  batchRows = EXPORT_BATCH_ROWS,
): Promise<TableExport> {
  return {
    columns: EXAM_CSV_COLUMNS,
    filename: 'mock-exams.csv',
    batches: await batched((after) => examsBatch(db, filters, after, batchRows)),
  }
}

/** 404 when the exam is absent or archived, as its JSON bookings list. */
export async function exportExamBookings(
  db: Queryable,
  examId: string,
  batchRows = EXPORT_BATCH_ROWS,
): Promise<TableExport> {
  if ((await getExam(db, examId)).json === 'null') throw examNotFound(examId)
  return {
    columns: BOOKING_CSV_COLUMNS,
    filename: `mock-exam-${examId}-bookings.csv`,
    batches: await batched((after) => examBookingsBatch(db, examId, after, batchRows)),
  }
}

// Applying change events to per-exam booking lists: pure functions, shared by the React hook and apps.
import { compareSeq, isSeq } from '../model/seq.js'
import type { BookingRecord, ChangeEvent, ExamRecord } from './types.js'

export type BookingsByExam = Record<string, BookingRecord[]>

/**
 * Returns the lists with `event` applied, or the same object when nothing changed.
 * Only exams already present as keys are tracked. `floors` holds, per exam, the seq its snapshot
 * reflects: events at or below it are already in the snapshot and are skipped, which matters when
 * one subscription resumes from the smallest of several snapshots' seqs.
 */
export function applyBookingEvent(
  lists: BookingsByExam,
  event: ChangeEvent,
  floors: Record<string, string | null> = {},
): BookingsByExam {
  if (event.kind !== 'booking') return lists
  const row = event.row as BookingRecord | null
  const examId = row?.mock_exam_id ?? event.exam_id
  const floor = examId === null ? null : (floors[examId] ?? null)
  if (floor !== null && isSeq(event.seq) && isSeq(floor) && compareSeq(event.seq, floor) <= 0) {
    return lists
  }
  const removal = event.op === 'delete' || row === null || row.deleted_at !== null
  let next: BookingsByExam | null = null
  for (const [id, bookings] of Object.entries(lists)) {
    const index = bookings.findIndex((b) => b.hubspot_id === event.hubspot_id)
    if (id === examId && !removal) {
      const copy = bookings.slice()
      if (index === -1) copy.push(row as BookingRecord)
      else copy[index] = row as BookingRecord
      next ??= { ...lists }
      next[id] = copy
    } else if (index !== -1) {
      // Removed, or moved to another exam: either way it no longer belongs in this list.
      next ??= { ...lists }
      next[id] = bookings.filter((b) => b.hubspot_id !== event.hubspot_id)
    }
  }
  return next ?? lists
}

/** Upserts or removes an exam in a list by hubspot_id; the same list when the event is not an exam's. */
export function applyExamEvent(exams: ExamRecord[], event: ChangeEvent): ExamRecord[] {
  if (event.kind !== 'exam') return exams
  const row = event.row as ExamRecord | null
  const index = exams.findIndex((e) => e.hubspot_id === event.hubspot_id)
  if (event.op === 'delete' || row === null || row.deleted_at !== null) {
    return index === -1 ? exams : exams.filter((e) => e.hubspot_id !== event.hubspot_id)
  }
  const copy = exams.slice()
  if (index === -1) copy.push(row)
  else copy[index] = row
  return copy
}

// Which cache generations a commit's change events bump: the one place a write's invalidation is decided.
import type { CommittedEvent } from '../model/records.js'

/** Generation names: what a cached response depends on, and what a change bumps. */
export const deps = {
  examCollection: 'exams',
  exam: (examId: string) => `exam:${examId}`,
}

/**
 * Any change bumps the exam collection (lists, aggregates and seat counts read across exams) and
 * the exam it belongs to: an exam's own id, a booking's exam. A booking that moved to another exam
 * leaves the list of the exam it moved from as well, which its change's old mock_exam_id names.
 */
export function dependencyNames(events: readonly CommittedEvent[]): string[] {
  if (events.length === 0) return []
  const names = new Set([deps.examCollection])
  for (const event of events) {
    if (event.exam_id) names.add(deps.exam(event.exam_id))
    const moved = event.kind === 'booking' ? event.changes?.mock_exam_id : undefined
    if (moved && typeof moved[0] === 'string' && moved[0]) names.add(deps.exam(moved[0]))
  }
  return [...names]
}

// An exam's status badges: Active or Inactive, and Past once its day is over.
import type { ExamRecord } from '../../../src/client/index.js'
import { isActive, isPast } from '../format.js'

/** `activeTestId` marks the Active/Inactive badge on the screen that toggles it. */
export function ExamBadges({ exam, today, activeTestId }: { exam: ExamRecord; today: string; activeTestId?: string }) {
  const active = isActive(exam)
  return (
    <span className="badges">
      {isPast(exam, today) ? (
        <span className="badge badge--past" data-testid="exam-past" title="This exam's date has passed">
          Past
        </span>
      ) : null}
      <span className={`badge ${active ? 'badge--on' : 'badge--off'}`} data-testid={activeTestId}>
        {active ? 'Active' : 'Inactive'}
      </span>
    </span>
  )
}

// The screen shown for an exam id the replica does not hold (archived and purged, or never there).
import { href } from '../router.js'

export function ExamNotFound({ examId }: { examId: string }) {
  return (
    <div className="screen">
      <h1>Exam not found</h1>
      <p>
        There is no exam <code>{examId}</code> in the replica. <a href={href.overview()}>Back to exams</a>
      </p>
    </div>
  )
}

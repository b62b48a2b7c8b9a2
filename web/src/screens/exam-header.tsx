// The exam's header card: its details, capacity, and the edit, (de)activate, force-sync and archive actions.
import { useState } from 'react'
import type { ExamRecord } from '../../../src/client/index.js'
import { useApp } from '../app-context.js'
import { ActionButton } from '../components/action-button.js'
import { CapacityBar } from '../components/capacity-bar.js'
import { ExamBadges } from '../components/exam-badges.js'
import { formatDate, formatTimeRange, isActive, localToday } from '../format.js'
import { href, navigate } from '../router.js'
import { useBusyAction } from '../use-busy-action.js'

export function ExamHeader({
  exam,
  booked,
  onExam,
  onAlert,
  onHistory,
}: {
  exam: ExamRecord
  booked: number
  onExam(exam: ExamRecord): void
  onAlert(message: string | null): void
  onHistory(): void
}) {
  const { api, can, toast, markOwnWrite } = useApp()
  const [confirmArchive, setConfirmArchive] = useState(false)
  const action = useBusyAction(onAlert)
  const active = isActive(exam)

  return (
    <section className="exam-head card" aria-labelledby="exam-title" data-testid="exam-header">
      <div className="exam-head__main">
        <h1 id="exam-title">{exam.mock_exam_name || `Exam ${exam.hubspot_id}`}</h1>
        <p className="exam-head__meta">
          <span>{exam.mock_type ?? '—'}</span>
          <span>{formatDate(exam.exam_date)}</span>
          <span>{formatTimeRange(exam)}</span>
          <span>{exam.location ?? '—'}</span>
          <ExamBadges exam={exam} today={localToday()} activeTestId="exam-active" />
        </p>
        <CapacityBar id={exam.hubspot_id} booked={booked} capacity={exam.capacity ?? 0} />
        <button
          type="button"
          className="button button--quiet button--small"
          data-testid="exam-history"
          onClick={onHistory}
        >
          History
        </button>
      </div>
      {can('exams.edit') ? (
        <div className="actions">
          <a className="button" href={href.examEdit(exam.hubspot_id)}>
            Edit
          </a>
          <ActionButton
            action={action}
            name="active"
            testId="toggle-active"
            run={async () => {
              markOwnWrite([exam.hubspot_id])
              const res = await api.setExamActive(exam.hubspot_id, !active)
              onExam(res.exam)
              toast(res.exam.is_active === 'true' ? 'Exam activated' : 'Exam deactivated', 'success')
            }}
          >
            {active ? 'Deactivate' : 'Activate'}
          </ActionButton>
          <ActionButton
            action={action}
            name="force"
            busyLabel="Syncing…"
            run={async () => {
              const res = await api.forceSync({ type: 'bookings', examId: exam.hubspot_id })
              toast(`Re-synced from HubSpot: ${res.count} booking${res.count === 1 ? '' : 's'}`, 'success')
            }}
          >
            Force sync bookings
          </ActionButton>
          {confirmArchive ? (
            <span className="confirm" role="group" aria-label="Confirm archive">
              <ActionButton
                action={action}
                name="archive"
                className="button button--danger"
                testId="confirm-archive"
                run={async () => {
                  markOwnWrite([exam.hubspot_id])
                  await api.archiveExam(exam.hubspot_id)
                  toast('Exam archived', 'success')
                  navigate(href.overview())
                }}
              >
                Archive now
              </ActionButton>
              <button type="button" className="button button--quiet" onClick={() => setConfirmArchive(false)}>
                Keep
              </button>
            </span>
          ) : (
            <button
              type="button"
              className="button button--danger-outline"
              data-testid="archive-exam"
              onClick={() => setConfirmArchive(true)}
            >
              Archive…
            </button>
          )}
        </div>
      ) : null}
    </section>
  )
}

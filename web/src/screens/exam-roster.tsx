// The printable roster of one exam: its header and the students expected, with an attendance column to mark.
import { useEffect, useState } from 'react'
import { isHubmirrorError, type BookingRecord, type ExamRecord } from '../../../src/client/index.js'
import { useApp } from '../app-context.js'
import { AlertRegion, useAlert } from '../components/alert-region.js'
import { ExamNotFound } from '../components/exam-not-found.js'
import { formatDate, formatDateTime, formatTimeRange, SEAT_HOLDING, statusLabel } from '../format.js'
import { href } from '../router.js'

const byName = (a: BookingRecord, b: BookingRecord) =>
  (a.student_name ?? '').localeCompare(b.student_name ?? '') || a.hubspot_id.localeCompare(b.hubspot_id)

export function ExamRoster({ examId }: { examId: string }) {
  const { api, describeError } = useApp()
  const [exam, setExam] = useState<ExamRecord | null>(null)
  const [bookings, setBookings] = useState<BookingRecord[] | null>(null)
  const [missing, setMissing] = useState(false)
  const [printedAt] = useState(() => new Date().toISOString())
  const [alert, setAlert] = useAlert()

  useEffect(() => {
    let cancelled = false
    Promise.all([api.getExam(examId), api.getExamBookings(examId)])
      .then(([one, list]) => {
        if (cancelled) return
        setExam(one.exam)
        setBookings(list.bookings)
      })
      .catch((e) => {
        if (cancelled) return
        if (isHubmirrorError(e) && e.status === 404) setMissing(true)
        else setAlert(describeError(e))
      })
    return () => {
      cancelled = true
    }
  }, [api, examId, describeError, setAlert])

  if (missing) return <ExamNotFound examId={examId} />

  // Who is expected: seat-holding bookings; cancelled ones are counted, not listed.
  const expected = bookings?.filter((b) => SEAT_HOLDING.has(b.booking_status ?? '')).sort(byName) ?? []
  const notListed = (bookings?.length ?? 0) - expected.length

  return (
    <div className="screen roster" data-testid="exam-roster">
      <p className="crumbs no-print">
        <a href={href.exam(examId)}>← Back to the exam</a>
      </p>
      <AlertRegion message={alert} onDismiss={() => setAlert(null)} />
      {exam && bookings ? (
        <>
          <header className="roster__head">
            <h1 data-testid="roster-title">{exam.mock_exam_name || `Exam ${exam.hubspot_id}`}</h1>
            <p className="roster__meta">
              <span>{exam.mock_type ?? '—'}</span>
              <span>{formatDate(exam.exam_date)}</span>
              <span>{formatTimeRange(exam)}</span>
              <span>{exam.location ?? '—'}</span>
              <span>
                {expected.length} student{expected.length === 1 ? '' : 's'} of {exam.capacity ?? '—'} seats
              </span>
            </p>
            <button type="button" className="button button--primary no-print" onClick={() => window.print()}>
              Print
            </button>
          </header>
          {expected.length === 0 ? (
            <p className="empty">Nobody is booked on this exam.</p>
          ) : (
            <div className="table-scroll">
              <table className="table roster__table" data-testid="roster-table">
                <thead>
                  <tr>
                    <th scope="col" className="roster__num">
                      #
                    </th>
                    <th scope="col">Student</th>
                    <th scope="col">Student ID</th>
                    <th scope="col">Email</th>
                    <th scope="col">Location</th>
                    <th scope="col">Status</th>
                    <th scope="col" className="roster__attendance">
                      Attendance
                    </th>
                  </tr>
                </thead>
                <tbody>
                  {expected.map((b, i) => (
                    <tr key={b.hubspot_id} data-testid={`roster-row-${b.hubspot_id}`}>
                      <td className="roster__num">{i + 1}</td>
                      <th scope="row">{b.student_name ?? '—'}</th>
                      <td>{b.student_id ?? '—'}</td>
                      <td className="cell-email">{b.student_email ?? '—'}</td>
                      <td>{b.attending_location ?? '—'}</td>
                      <td>{statusLabel(b.booking_status)}</td>
                      <td className="roster__attendance" data-testid="roster-attendance">
                        {b.attendance ? (
                          statusLabel(b.attendance)
                        ) : (
                          <span className="roster__box" aria-label="not marked yet" />
                        )}
                      </td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
          )}
          <p className="muted small roster__foot">
            {notListed > 0 ? `${notListed} cancelled booking${notListed === 1 ? '' : 's'} not listed. ` : ''}
            Printed from hubmirror on {formatDateTime(printedAt)}.
          </p>
        </>
      ) : (
        <p className="muted" role="status">
          Loading roster…
        </p>
      )}
    </div>
  )
}

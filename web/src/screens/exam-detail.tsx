// Exam detail: the exam's live bookings (sort, search, filter, attendance, cancel, batch-cancel), a booking form and timelines.
import { useEffect, useRef, useState } from 'react'
import { isHubmirrorError, useRealtimeBookings, type ExamRecord } from '../../../src/client/index.js'
import { useApp } from '../app-context.js'
import { AlertRegion, useAlert } from '../components/alert-region.js'
import { ExamNotFound } from '../components/exam-not-found.js'
import { RosterTools } from '../components/roster-tools.js'
import { SEAT_HOLDING } from '../format.js'
import { href } from '../router.js'
import { useSnapshotFeed } from '../use-snapshot-feed.js'
import { BookingsTable } from './bookings-table.js'
import { CreateBookingForm } from './create-booking-form.js'
import { ExamHeader } from './exam-header.js'
import { HistoryPanel } from './history-panel.js'

/** Whose timeline is open: a booking's or the exam's. */
interface HistoryTarget {
  kind: 'booking' | 'exam'
  id: string
  title: string
}

export function ExamDetail({ examId }: { examId: string }) {
  const app = useApp()
  const { api, feed, session, baseUrl, can, describeError, toast, markOwnWrite } = app
  const [exam, setExam] = useState<ExamRecord | null>(null)
  const [missing, setMissing] = useState(false)
  const [archived, setArchived] = useState(false)
  const [alert, setAlert] = useAlert()
  const [historyOf, setHistoryOf] = useState<HistoryTarget | null>(null)
  const live = useRealtimeBookings([examId], { baseUrl, token: session.token, feed })
  const bookings = live.bookings[examId]

  // The exam row itself: a snapshot, then its own change events from the shared feed.
  const floor = useRef<string | null>(null)
  useSnapshotFeed(
    feed,
    floor,
    (current) => {
      floor.current = null
      return {
        examIds: [examId],
        async load() {
          const res = await api.getExam(examId)
          if (!current()) return null
          floor.current = res.seq
          setExam(res.exam)
          return res.seq
        },
        onEvent(event) {
          if (event.kind !== 'exam' || event.hubspot_id !== examId) return
          const row = event.row as ExamRecord | null
          if (event.op === 'delete' || !row || row.deleted_at) setArchived(true)
          else setExam(row)
        },
        onLoadError(e) {
          if (isHubmirrorError(e) && e.status === 404) setMissing(true)
          else setAlert(describeError(e))
        },
        onRefetchError() {},
      }
    },
    [api, examId, describeError, setAlert],
  )

  useEffect(() => {
    if (live.error) setAlert(describeError(live.error))
  }, [live.error, describeError, setAlert])

  if (missing) return <ExamNotFound examId={examId} />

  const booked = bookings
    ? bookings.filter((b) => SEAT_HOLDING.has(b.booking_status ?? '')).length
    : (exam?.total_bookings ?? 0)
  const capacity = exam?.capacity ?? 0

  return (
    <div className="screen" data-testid="exam-detail">
      <p className="crumbs">
        <a href={href.overview()}>← All exams</a>
      </p>
      <AlertRegion message={alert} onDismiss={() => setAlert(null)} />
      <RosterTools examId={examId} onAlert={setAlert} />
      {archived ? (
        <p className="notice" role="status">
          This exam has been archived.
        </p>
      ) : null}
      {exam ? (
        <ExamHeader
          exam={exam}
          booked={booked}
          onExam={setExam}
          onAlert={setAlert}
          onHistory={() => setHistoryOf({ kind: 'exam', id: examId, title: exam.mock_exam_name || `exam ${examId}` })}
        />
      ) : (
        <p className="muted" role="status">
          Loading exam…
        </p>
      )}

      {historyOf ? (
        <HistoryPanel key={`${historyOf.kind}:${historyOf.id}`} {...historyOf} onClose={() => setHistoryOf(null)} />
      ) : null}
      <div className="detail-grid">
        {can('bookings.edit') && exam && !archived ? (
          <CreateBookingForm
            exam={exam}
            full={capacity > 0 && booked >= capacity}
            onAlert={setAlert}
            onBooked={(b) => toast(`Booked ${b.student_name ?? b.student_email ?? 'student'}`, 'success')}
            markOwnWrite={markOwnWrite}
          />
        ) : null}
        <section className="card" aria-labelledby="bookings-title">
          <h2 id="bookings-title">
            Bookings{' '}
            {bookings ? (
              <span className="muted small">
                ({booked} of {capacity} seats held)
              </span>
            ) : null}
          </h2>
          {bookings ? (
            <BookingsTable
              bookings={bookings}
              onAlert={setAlert}
              onCancelled={(n) => toast(`Cancelled ${n} booking${n === 1 ? '' : 's'}`, 'success')}
              onMarked={(n, label) => toast(`Marked ${n} ${label.toLowerCase()}`, 'success')}
              onHistory={(b) =>
                setHistoryOf({ kind: 'booking', id: b.hubspot_id, title: b.student_name ?? `booking ${b.hubspot_id}` })
              }
            />
          ) : live.loading ? (
            <p className="muted" role="status">
              Loading bookings…
            </p>
          ) : null}
        </section>
      </div>
    </div>
  )
}

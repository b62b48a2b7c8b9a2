// Exam detail: the exam's live bookings (sort, search, filter, attendance, cancel, batch-cancel), a booking form and timelines.
import { useEffect, useMemo, useState, type FormEvent } from 'react'
import {
  compareSeq,
  isHubmirrorError,
  isSeq,
  newIdempotencyKey,
  useRealtimeBookings,
  type BookingRecord,
  type ExamRecord,
} from '../../../src/client/index.js'
import { useApp } from '../app-context.js'
import { AlertRegion, useAlert } from '../components/alert-region.js'
import { CapacityBar } from '../components/capacity-bar.js'
import { ExamBadges } from '../components/exam-badges.js'
import {
  BOOKING_STATUSES,
  formatDate,
  formatShortDateTime,
  formatTimeRange,
  isActive,
  localToday,
  SEAT_HOLDING,
  statusLabel,
} from '../format.js'
import { RosterTools } from '../components/roster-tools.js'
import { href, navigate } from '../router.js'
import { HistoryPanel } from './history-panel.js'

/** Whose timeline is open: a booking's or the exam's. */
interface HistoryTarget {
  kind: 'booking' | 'exam'
  id: string
  title: string
}

const ATTENDANCE_LABEL: Record<string, string> = { attended: 'Present', no_show: 'No-show' }

type SortKey =
  | 'student_name'
  | 'student_email'
  | 'student_id'
  | 'booking_status'
  | 'attendance'
  | 'attending_location'
  | 'dominant_hand'
  | 'created_at'

const COLUMNS: { key: SortKey; label: string }[] = [
  { key: 'student_name', label: 'Student' },
  { key: 'student_email', label: 'Email' },
  { key: 'student_id', label: 'Student ID' },
  { key: 'booking_status', label: 'Status' },
  { key: 'attendance', label: 'Attendance' },
  { key: 'attending_location', label: 'Location' },
  { key: 'dominant_hand', label: 'Hand' },
  { key: 'created_at', label: 'Booked at' },
]

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
  useEffect(() => {
    let cancelled = false
    let sub: ReturnType<typeof feed.subscribe> | null = null
    let floor: string | null = null
    const load = async () => {
      const res = await api.getExam(examId)
      if (cancelled) return null
      floor = res.seq
      setExam(res.exam)
      return res.seq
    }
    load()
      .then((seq) => {
        if (cancelled) return
        sub = feed.subscribe({
          examIds: [examId],
          after: seq,
          onEvent(event) {
            if (event.kind !== 'exam' || event.hubspot_id !== examId) return
            if (floor !== null && isSeq(event.seq) && compareSeq(event.seq, floor) <= 0) return
            const row = event.row as ExamRecord | null
            if (event.op === 'delete' || !row || row.deleted_at) setArchived(true)
            else setExam(row)
          },
          onRefetch() {
            load()
              .then((fresh) => sub?.resume(fresh))
              .catch(() => {})
          },
        })
      })
      .catch((e) => {
        if (cancelled) return
        if (isHubmirrorError(e) && e.status === 404) setMissing(true)
        else setAlert(describeError(e))
      })
    return () => {
      cancelled = true
      sub?.close()
    }
  }, [api, feed, examId, describeError, setAlert])

  useEffect(() => {
    if (live.error) setAlert(describeError(live.error))
  }, [live.error, describeError, setAlert])

  if (missing) {
    return (
      <div className="screen">
        <h1>Exam not found</h1>
        <p>
          There is no exam <code>{examId}</code> in the replica. <a href={href.overview()}>Back to exams</a>
        </p>
      </div>
    )
  }

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

function ExamHeader({
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
  const { api, can, describeError, toast, markOwnWrite } = useApp()
  const [busy, setBusy] = useState<string | null>(null)
  const [confirmArchive, setConfirmArchive] = useState(false)
  const active = isActive(exam)

  async function act(name: string, fn: () => Promise<void>) {
    setBusy(name)
    onAlert(null)
    try {
      await fn()
    } catch (e) {
      onAlert(describeError(e))
    } finally {
      setBusy(null)
    }
  }

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
          <button
            type="button"
            className="button"
            data-testid="toggle-active"
            disabled={busy !== null}
            onClick={() =>
              act('active', async () => {
                markOwnWrite([exam.hubspot_id])
                const res = await api.setExamActive(exam.hubspot_id, !active)
                onExam(res.exam)
                toast(res.exam.is_active === 'true' ? 'Exam activated' : 'Exam deactivated', 'success')
              })
            }
          >
            {active ? 'Deactivate' : 'Activate'}
          </button>
          <button
            type="button"
            className="button"
            disabled={busy !== null}
            onClick={() =>
              act('force', async () => {
                const res = await api.forceSync({ type: 'bookings', examId: exam.hubspot_id })
                toast(`Re-synced from HubSpot: ${res.count} booking${res.count === 1 ? '' : 's'}`, 'success')
              })
            }
          >
            {busy === 'force' ? 'Syncing…' : 'Force sync bookings'}
          </button>
          {confirmArchive ? (
            <span className="confirm" role="group" aria-label="Confirm archive">
              <button
                type="button"
                className="button button--danger"
                data-testid="confirm-archive"
                disabled={busy !== null}
                onClick={() =>
                  act('archive', async () => {
                    markOwnWrite([exam.hubspot_id])
                    await api.archiveExam(exam.hubspot_id)
                    toast('Exam archived', 'success')
                    navigate(href.overview())
                  })
                }
              >
                Archive now
              </button>
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

function BookingsTable({
  bookings,
  onAlert,
  onCancelled,
  onMarked,
  onHistory,
}: {
  bookings: BookingRecord[]
  onAlert(message: string | null): void
  onCancelled(count: number): void
  onMarked(count: number, label: string): void
  onHistory(booking: BookingRecord): void
}) {
  const { api, can, describeError, markOwnWrite } = useApp()
  const [sort, setSort] = useState<{ key: SortKey; dir: 1 | -1 }>({ key: 'created_at', dir: -1 })
  const [search, setSearch] = useState('')
  const [status, setStatus] = useState('all')
  const [selected, setSelected] = useState<Set<string>>(() => new Set())
  const [confirming, setConfirming] = useState<string | null>(null)
  const [busy, setBusy] = useState(false)
  const editable = can('bookings.edit')

  const rows = useMemo(() => {
    const q = search.trim().toLowerCase()
    const list = bookings.filter((b) => {
      if (status !== 'all' && b.booking_status !== status) return false
      if (!q) return true
      return [b.student_name, b.student_email, b.student_id, b.booking_id, b.hubspot_id].some((v) =>
        v?.toLowerCase().includes(q),
      )
    })
    return list.sort((a, b) => {
      const x = a[sort.key] ?? ''
      const y = b[sort.key] ?? ''
      return (x < y ? -1 : x > y ? 1 : a.hubspot_id.localeCompare(b.hubspot_id)) * sort.dir
    })
  }, [bookings, search, status, sort])

  const cancellable = (b: BookingRecord) => b.booking_status !== 'cancelled'
  // Rows that vanish or get cancelled (here or elsewhere) leave the selection.
  const selectable = useMemo(() => new Set(rows.filter(cancellable).map((b) => b.hubspot_id)), [rows])
  const chosen = [...selected].filter((id) => selectable.has(id))
  const allChosen = selectable.size > 0 && chosen.length === selectable.size

  const toggleSort = (key: SortKey) =>
    setSort((s) => (s.key === key ? { key, dir: s.dir === 1 ? -1 : 1 } : { key, dir: 1 }))

  async function cancelOne(id: string) {
    setBusy(true)
    onAlert(null)
    try {
      markOwnWrite([id])
      await api.cancelBooking(id)
      setConfirming(null)
      onCancelled(1)
    } catch (e) {
      onAlert(describeError(e))
    } finally {
      setBusy(false)
    }
  }

  /** Attendance on one row or on the selection; per-row refusals (a cancel elsewhere) are listed. */
  async function mark(ids: string[], attendance: 'attended' | 'no_show') {
    setBusy(true)
    onAlert(null)
    try {
      markOwnWrite(ids)
      const res = await api.batchAttendance(ids.map((id) => ({ id, attendance })))
      if (ids.length > 1) setSelected(new Set())
      const done = res.updated + res.unchanged
      if (done > 0) onMarked(done, ATTENDANCE_LABEL[attendance] ?? attendance)
      if (res.failed > 0) {
        const reasons = res.results
          .filter((r) => !r.success)
          .slice(0, 3)
          .map((r) => `${r.id}: ${r.error?.message ?? 'failed'}`)
          .join('; ')
        onAlert(`${res.failed} of ${ids.length} could not be marked. ${reasons}`)
      }
    } catch (e) {
      onAlert(describeError(e))
    } finally {
      setBusy(false)
    }
  }

  async function cancelSelected() {
    setBusy(true)
    onAlert(null)
    try {
      markOwnWrite(chosen)
      const res = await api.batchCancelBookings(chosen)
      setSelected(new Set())
      if (res.cancelled > 0) onCancelled(res.cancelled)
      if (res.failed > 0) {
        const reasons = res.results
          .filter((r) => !r.success)
          .slice(0, 3)
          .map((r) => `${r.id}: ${r.error?.message ?? 'failed'}`)
          .join('; ')
        onAlert(`${res.failed} of ${chosen.length} could not be cancelled. ${reasons}`)
      }
    } catch (e) {
      onAlert(describeError(e))
    } finally {
      setBusy(false)
    }
  }

  return (
    <>
      <div className="table-tools">
        <div className="field">
          <label htmlFor="b-search">Search</label>
          <input
            id="b-search"
            type="search"
            value={search}
            onChange={(e) => setSearch(e.target.value)}
            placeholder="Name, email or ID"
            data-testid="booking-search"
          />
        </div>
        <div className="field">
          <label htmlFor="b-status">Status</label>
          <select
            id="b-status"
            value={status}
            onChange={(e) => setStatus(e.target.value)}
            data-testid="booking-status-filter"
          >
            <option value="all">All</option>
            {BOOKING_STATUSES.map((s) => (
              <option key={s} value={s}>
                {statusLabel(s)}
              </option>
            ))}
          </select>
        </div>
        {editable ? (
          <div className="field field--action">
            <button
              type="button"
              className="button"
              data-testid="batch-present"
              disabled={busy || chosen.length === 0}
              onClick={() => mark(chosen, 'attended')}
            >
              Mark present ({chosen.length})
            </button>
          </div>
        ) : null}
        {editable ? (
          <div className="field field--action">
            <button
              type="button"
              className="button button--danger"
              data-testid="batch-cancel"
              disabled={busy || chosen.length === 0}
              onClick={cancelSelected}
            >
              Cancel selected ({chosen.length})
            </button>
          </div>
        ) : null}
      </div>
      <p className="muted small" role="status">
        {rows.length === bookings.length
          ? `${rows.length} bookings`
          : `${rows.length} of ${bookings.length} bookings shown`}
      </p>
      {rows.length === 0 ? (
        <p className="empty">No bookings{bookings.length > 0 ? ' match' : ' yet'}.</p>
      ) : (
        <div className="table-scroll">
          <table className="table table--cards table--sortable" data-testid="bookings-table">
            <thead>
              <tr>
                {editable ? (
                  <th scope="col" className="col-check">
                    <input
                      type="checkbox"
                      aria-label="Select all shown bookings"
                      checked={allChosen}
                      disabled={selectable.size === 0}
                      onChange={() => setSelected(allChosen ? new Set() : new Set(selectable))}
                      data-testid="select-all"
                    />
                  </th>
                ) : null}
                {COLUMNS.map((c) => (
                  <th
                    key={c.key}
                    scope="col"
                    aria-sort={sort.key === c.key ? (sort.dir === 1 ? 'ascending' : 'descending') : 'none'}
                  >
                    <button
                      type="button"
                      className="sort"
                      onClick={() => toggleSort(c.key)}
                      data-testid={`sort-${c.key}`}
                    >
                      {c.label}
                      <span aria-hidden="true">{sort.key === c.key ? (sort.dir === 1 ? ' ▲' : ' ▼') : ''}</span>
                    </button>
                  </th>
                ))}
                <th scope="col" className="col-actions-head">
                  <span className="visually-hidden">Attendance and history</span>
                </th>
                {editable ? (
                  <th scope="col" className="col-actions-head">
                    <span className="visually-hidden">Actions</span>
                  </th>
                ) : null}
              </tr>
            </thead>
            <tbody>
              {rows.map((b) => (
                <tr
                  key={b.hubspot_id}
                  data-testid={`booking-row-${b.hubspot_id}`}
                  data-status={b.booking_status ?? ''}
                  className={b.booking_status === 'cancelled' ? 'row--cancelled' : undefined}
                >
                  {editable ? (
                    <td className="col-check">
                      {cancellable(b) ? (
                        <input
                          type="checkbox"
                          aria-label={`Select booking of ${b.student_name ?? b.hubspot_id}`}
                          checked={selected.has(b.hubspot_id)}
                          onChange={(e) =>
                            setSelected((s) => {
                              const next = new Set(s)
                              if (e.target.checked) next.add(b.hubspot_id)
                              else next.delete(b.hubspot_id)
                              return next
                            })
                          }
                        />
                      ) : null}
                    </td>
                  ) : null}
                  <th scope="row" data-label="Student">
                    {b.student_name ?? '—'}
                  </th>
                  <td data-label="Email" className="cell-wide cell-email">
                    {b.student_email ?? '—'}
                  </td>
                  <td data-label="Student ID">{b.student_id ?? '—'}</td>
                  <td data-label="Status">
                    <span className={`badge badge--${b.booking_status ?? 'unknown'}`} data-testid="booking-status">
                      {statusLabel(b.booking_status)}
                    </span>
                  </td>
                  <td data-label="Attendance" data-testid="booking-attendance">
                    {b.attendance ? (ATTENDANCE_LABEL[b.attendance] ?? b.attendance) : '—'}
                  </td>
                  <td data-label="Location">{b.attending_location ?? '—'}</td>
                  <td data-label="Hand">{b.dominant_hand ?? '—'}</td>
                  <td data-label="Booked at">{formatShortDateTime(b.created_at)}</td>
                  <td className="col-actions col-record-actions">
                    <button
                      type="button"
                      className="button button--quiet button--small"
                      data-testid="booking-history"
                      onClick={() => onHistory(b)}
                    >
                      History<span className="visually-hidden"> of {b.student_name ?? b.hubspot_id}</span>
                    </button>
                    {editable && cancellable(b) ? (
                      <>
                        <button
                          type="button"
                          className="button button--small"
                          data-testid="mark-present"
                          disabled={busy || b.attendance === 'attended'}
                          onClick={() => mark([b.hubspot_id], 'attended')}
                        >
                          Present<span className="visually-hidden"> {b.student_name ?? b.hubspot_id}</span>
                        </button>
                        <button
                          type="button"
                          className="button button--small"
                          data-testid="mark-no-show"
                          disabled={busy || b.attendance === 'no_show'}
                          onClick={() => mark([b.hubspot_id], 'no_show')}
                        >
                          No-show<span className="visually-hidden"> {b.student_name ?? b.hubspot_id}</span>
                        </button>
                      </>
                    ) : null}
                  </td>
                  {editable ? (
                    <td className="col-actions">
                      {!cancellable(b) ? null : confirming === b.hubspot_id ? (
                        <span className="confirm" role="group" aria-label="Confirm cancellation">
                          <button
                            type="button"
                            className="button button--danger button--small"
                            data-testid="confirm-cancel"
                            disabled={busy}
                            onClick={() => cancelOne(b.hubspot_id)}
                          >
                            Confirm
                          </button>
                          <button
                            type="button"
                            className="button button--quiet button--small"
                            onClick={() => setConfirming(null)}
                          >
                            Keep
                          </button>
                        </span>
                      ) : (
                        <button
                          type="button"
                          className="button button--small"
                          data-testid="cancel-booking"
                          onClick={() => setConfirming(b.hubspot_id)}
                        >
                          Cancel<span className="visually-hidden"> booking of {b.student_name ?? b.hubspot_id}</span>
                        </button>
                      )}
                    </td>
                  ) : null}
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </>
  )
}

function CreateBookingForm({
  exam,
  full,
  onAlert,
  onBooked,
  markOwnWrite,
}: {
  exam: ExamRecord
  full: boolean
  onAlert(message: string | null): void
  onBooked(booking: BookingRecord): void
  markOwnWrite(keys: (string | null | undefined)[]): void
}) {
  const { api, describeError } = useApp()
  const empty = {
    student_name: '',
    student_email: '',
    student_id: '',
    dominant_hand: '',
    attending_location: exam.location ?? '',
  }
  const [form, setForm] = useState(empty)
  const [busy, setBusy] = useState(false)
  const set = (key: keyof typeof empty) => (e: { target: { value: string } }) =>
    setForm((f) => ({ ...f, [key]: e.target.value }))

  async function submit(e: FormEvent) {
    e.preventDefault()
    setBusy(true)
    onAlert(null)
    // Fixed before sending: the echo of this write is recognised, and a retry books once.
    const bookingId = newIdempotencyKey()
    markOwnWrite([bookingId, exam.hubspot_id])
    try {
      const { booking } = await api.createBooking({
        examId: exam.hubspot_id,
        booking_id: bookingId,
        student_name: form.student_name.trim(),
        student_email: form.student_email.trim(),
        ...(form.student_id.trim() ? { student_id: form.student_id.trim() } : {}),
        ...(form.dominant_hand === 'left' || form.dominant_hand === 'right'
          ? { dominant_hand: form.dominant_hand }
          : {}),
        ...(form.attending_location.trim() ? { attending_location: form.attending_location.trim() } : {}),
      })
      markOwnWrite([booking.hubspot_id])
      setForm(empty)
      onBooked(booking)
    } catch (err) {
      onAlert(describeError(err))
    } finally {
      setBusy(false)
    }
  }

  return (
    <section className="card" aria-labelledby="new-booking-title">
      <h2 id="new-booking-title">New booking</h2>
      {full ? (
        <p className="muted small" data-testid="exam-full-note">
          Every seat is taken; the server will refuse new bookings unless one is cancelled.
        </p>
      ) : null}
      <form className="booking-form" onSubmit={submit} data-testid="create-booking-form">
        <div className="field">
          <label htmlFor="nb-name">Student name</label>
          <input
            id="nb-name"
            name="student_name"
            required
            value={form.student_name}
            onChange={set('student_name')}
            autoComplete="off"
          />
        </div>
        <div className="field">
          <label htmlFor="nb-email">Student email</label>
          <input
            id="nb-email"
            name="student_email"
            type="email"
            required
            value={form.student_email}
            onChange={set('student_email')}
            autoComplete="off"
          />
        </div>
        <div className="field">
          <label htmlFor="nb-id">
            Student ID <span className="muted">(optional)</span>
          </label>
          <input id="nb-id" name="student_id" value={form.student_id} onChange={set('student_id')} autoComplete="off" />
        </div>
        <div className="field">
          <label htmlFor="nb-hand">
            Dominant hand <span className="muted">(optional)</span>
          </label>
          <select id="nb-hand" name="dominant_hand" value={form.dominant_hand} onChange={set('dominant_hand')}>
            <option value="">—</option>
            <option value="left">Left</option>
            <option value="right">Right</option>
          </select>
        </div>
        <div className="field">
          <label htmlFor="nb-location">
            Attending location <span className="muted">(optional)</span>
          </label>
          <input
            id="nb-location"
            name="attending_location"
            value={form.attending_location}
            onChange={set('attending_location')}
          />
        </div>
        <button type="submit" className="button button--primary" disabled={busy} data-testid="create-booking-submit">
          {busy ? 'Booking…' : 'Book seat'}
        </button>
      </form>
    </section>
  )
}

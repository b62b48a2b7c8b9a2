// The exam's bookings table: sort, search, status filter, selection, attendance and (batch) cancel.
import { useMemo, useState } from 'react'
import type { BookingRecord } from '../../../src/client/index.js'
import { useApp } from '../app-context.js'
import { ChoiceField } from '../components/choice-field.js'
import { SearchField } from '../components/search-field.js'
import { StudentCells } from '../components/student-cells.js'
import { BOOKING_STATUSES, formatShortDateTime, statusLabel } from '../format.js'

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

/** A batch's refusals in one alert: how many, and the first three rows' reasons. */
function refusals(
  res: { failed: number; results: Array<{ id: string; success: boolean; error?: { message?: string } | null }> },
  asked: number,
  done: string,
): string {
  const reasons = res.results
    .filter((r) => !r.success)
    .slice(0, 3)
    .map((r) => `${r.id}: ${r.error?.message ?? 'failed'}`)
    .join('; ')
  return `${res.failed} of ${asked} could not be ${done}. ${reasons}`
}

export function BookingsTable({
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
      if (res.failed > 0) onAlert(refusals(res, ids.length, 'marked'))
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
      if (res.failed > 0) onAlert(refusals(res, chosen.length, 'cancelled'))
    } catch (e) {
      onAlert(describeError(e))
    } finally {
      setBusy(false)
    }
  }

  return (
    <>
      <div className="table-tools">
        <SearchField
          id="b-search"
          label="Search"
          value={search}
          onChange={setSearch}
          placeholder="Name, email or ID"
          testId="booking-search"
        />
        <ChoiceField
          id="b-status"
          label="Status"
          value={status}
          onChange={setStatus}
          all={{ label: 'All', value: 'all' }}
          options={BOOKING_STATUSES}
          format={statusLabel}
          testId="booking-status-filter"
        />
        {editable
          ? [
              { testId: 'batch-present', look: 'button', run: () => mark(chosen, 'attended'), label: 'Mark present' },
              { testId: 'batch-cancel', look: 'button button--danger', run: cancelSelected, label: 'Cancel selected' },
            ].map(({ testId, look, run, label }) => (
              <div key={testId} className="field field--action">
                <button
                  type="button"
                  className={look}
                  data-testid={testId}
                  disabled={busy || chosen.length === 0}
                  onClick={run}
                >
                  {label} ({chosen.length})
                </button>
              </div>
            ))
          : null}
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
                  <StudentCells booking={b} />
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
                        {(
                          [
                            ['attended', 'mark-present', 'Present'],
                            ['no_show', 'mark-no-show', 'No-show'],
                          ] as const
                        ).map(([attendance, testId, label]) => (
                          <button
                            key={attendance}
                            type="button"
                            className="button button--small"
                            data-testid={testId}
                            disabled={busy || b.attendance === attendance}
                            onClick={() => mark([b.hubspot_id], attendance)}
                          >
                            {label}
                            <span className="visually-hidden"> {b.student_name ?? b.hubspot_id}</span>
                          </button>
                        ))}
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

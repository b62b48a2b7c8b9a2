// Finding a student: their bookings across exams (GET /api/bookings?q=), each linking to its exam.
import { useEffect, useState, type FormEvent } from 'react'
import type { BookingSearchHit } from '../../../src/client/index.js'
import { useApp } from '../app-context.js'
import { AlertRegion, useAlert } from '../components/alert-region.js'
import { ColumnHeads } from '../components/column-heads.js'
import { SearchField } from '../components/search-field.js'
import { StudentCells } from '../components/student-cells.js'
import { formatDate, formatTimeRange, statusLabel } from '../format.js'
import { href, navigate } from '../router.js'

/** What the server accepts: three letters or digits in a row (its trigram index needs them). */
const SEARCHABLE = /[\p{L}\p{N}]{3}/u

export function StudentSearch({ q }: { q: string }) {
  const { api, describeError } = useApp()
  const [draft, setDraft] = useState(q)
  const [hits, setHits] = useState<BookingSearchHit[] | null>(null)
  const [next, setNext] = useState<string | null>(null)
  const [busy, setBusy] = useState(false)
  const [alert, setAlert] = useAlert()
  const searchable = SEARCHABLE.test(q)

  useEffect(() => setDraft(q), [q])

  useEffect(() => {
    setHits(null)
    setNext(null)
    setAlert(null)
    if (!searchable) return
    const abort = new AbortController()
    setBusy(true)
    api
      .searchBookings({ q }, { signal: abort.signal })
      .then((page) => {
        setHits(page.bookings)
        setNext(page.next_cursor)
      })
      .catch((e) => {
        if (!abort.signal.aborted) setAlert(describeError(e))
      })
      .finally(() => {
        if (!abort.signal.aborted) setBusy(false)
      })
    return () => abort.abort()
  }, [api, q, searchable, describeError, setAlert])

  async function more() {
    if (!next) return
    setBusy(true)
    try {
      const page = await api.searchBookings({ q, cursor: next })
      setHits((list) => [...(list ?? []), ...page.bookings])
      setNext(page.next_cursor)
    } catch (e) {
      setAlert(describeError(e))
    } finally {
      setBusy(false)
    }
  }

  function submit(e: FormEvent) {
    e.preventDefault()
    navigate(href.students(draft.trim()))
  }

  return (
    <div className="screen" data-testid="student-search">
      <div className="screen__head">
        <h1>Find a student</h1>
      </div>
      <form className="filters card" role="search" aria-label="Find a student" onSubmit={submit}>
        <SearchField
          id="s-q"
          label="Name, email or student ID"
          value={draft}
          onChange={setDraft}
          placeholder="e.g. priya, @clinic.example, PR77"
          testId="student-search-input"
          grow
        />
        <div className="field field--action">
          <button type="submit" className="button button--primary">
            Search
          </button>
        </div>
      </form>
      <AlertRegion message={alert} onDismiss={() => setAlert(null)} />
      {!searchable ? (
        <p className="muted" role="status">
          {q.trim()
            ? 'Type at least three letters or digits in a row (part of a name, an email or a student ID).'
            : 'Search by part of a name, an email or a student ID, across every exam.'}
        </p>
      ) : hits === null ? (
        <p className="muted" role="status">
          Searching…
        </p>
      ) : hits.length === 0 ? (
        <p className="empty" role="status" data-testid="student-search-empty">
          No booking matches “{q}”.
        </p>
      ) : (
        <section className="card" aria-labelledby="hits-title">
          <h2 id="hits-title">
            Bookings matching “{q}”{' '}
            <span className="muted small" role="status">
              ({hits.length}
              {next ? '+' : ''})
            </span>
          </h2>
          <div className="table-scroll">
            <table className="table table--cards" data-testid="student-search-results">
              <thead>
                <tr>
                  <ColumnHeads labels={['Student', 'Email', 'Student ID', 'Exam', 'Date', 'Status']} />
                </tr>
              </thead>
              <tbody>
                {hits.map((b) => (
                  <tr key={b.hubspot_id} data-testid={`search-hit-${b.hubspot_id}`}>
                    <StudentCells booking={b} />
                    <td data-label="Exam" className="cell-wide">
                      {b.exam ? (
                        <a href={href.exam(b.exam.hubspot_id)} data-testid="search-hit-exam">
                          {b.exam.mock_exam_name || `Exam ${b.exam.hubspot_id}`}
                        </a>
                      ) : (
                        <span className="muted">Exam {b.mock_exam_id ?? '?'} (not in the replica)</span>
                      )}
                      {b.exam?.archived ? <span className="muted small"> (archived)</span> : null}
                    </td>
                    <td data-label="Date">
                      {b.exam ? `${formatDate(b.exam.exam_date)}, ${formatTimeRange(b.exam)}` : '—'}
                    </td>
                    <td data-label="Status">
                      <span className={`badge badge--${b.booking_status ?? 'unknown'}`}>
                        {statusLabel(b.booking_status)}
                      </span>
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
          {next ? (
            <button type="button" className="button" onClick={more} disabled={busy} data-testid="search-more">
              {busy ? 'Loading…' : 'Show more'}
            </button>
          ) : null}
        </section>
      )}
    </div>
  )
}

// A record's timeline: every change to a booking or exam, newest first, who made it and what it changed.
import { useCallback, useEffect, useState } from 'react'
import type { HistoryEntry } from '../../../src/client/index.js'
import { useApp } from '../app-context.js'
import { formatShortDateTime } from '../format.js'
import { describeFields, describeOrigin } from '../remote-changes.js'

const PAGE = 20

export function HistoryPanel({
  kind,
  id,
  title,
  onClose,
}: {
  kind: 'booking' | 'exam'
  id: string
  title: string
  onClose(): void
}) {
  const { api, describeError } = useApp()
  const [entries, setEntries] = useState<HistoryEntry[] | null>(null)
  const [cursor, setCursor] = useState<string | null>(null)
  const [error, setError] = useState<string | null>(null)
  const [busy, setBusy] = useState(false)

  const load = useCallback(
    async (from: string | null) => {
      setBusy(true)
      try {
        const page = await api.getHistory(kind, id, { limit: PAGE, cursor: from })
        setEntries((shown) => [...(from ? (shown ?? []) : []), ...page.history])
        setCursor(page.next_cursor)
        setError(null)
      } catch (e) {
        setError(describeError(e))
      } finally {
        setBusy(false)
      }
    },
    [api, kind, id, describeError],
  )

  useEffect(() => {
    void load(null)
  }, [load])

  return (
    <section className="card history" aria-labelledby="history-title" data-testid="history-panel">
      <div className="history__head">
        <h2 id="history-title">History of {title}</h2>
        <button type="button" className="button button--quiet button--small" onClick={onClose}>
          Close
        </button>
      </div>
      {error ? <p className="muted">{error}</p> : null}
      {entries === null ? (
        <p className="muted" role="status">
          Loading history…
        </p>
      ) : entries.length === 0 ? (
        <p className="empty">No changes recorded.</p>
      ) : (
        <ol className="timeline" data-testid="history-entries">
          {entries.map((entry) => (
            <li key={entry.seq} className="timeline__item" data-testid="history-entry">
              <time dateTime={entry.at} className="muted small">
                {formatShortDateTime(entry.at)}
              </time>{' '}
              <span className="timeline__who" data-testid="history-who">
                {entry.op === 'delete' ? 'Removed' : 'Changed'} {describeOrigin(entry)}
              </span>
              <span className="timeline__what" data-testid="history-what">
                {entry.changes === null
                  ? 'fields not recorded'
                  : describeFields(entry) || `${Object.keys(entry.changes).length} field(s)`}
              </span>
            </li>
          ))}
        </ol>
      )}
      {cursor ? (
        <button type="button" className="button button--small" disabled={busy} onClick={() => void load(cursor)}>
          Older changes
        </button>
      ) : null}
    </section>
  )
}

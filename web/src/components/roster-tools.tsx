// The exam screen's roster links: the printable roster and the bookings as a CSV download.
import { useState } from 'react'
import { useApp } from '../app-context.js'
import { saveFile } from '../download.js'
import { href } from '../router.js'

export function RosterTools({ examId, onAlert }: { examId: string; onAlert(message: string | null): void }) {
  const { api, describeError, toast } = useApp()
  const [busy, setBusy] = useState(false)

  async function exportCsv() {
    setBusy(true)
    onAlert(null)
    try {
      const file = await api.exportExamBookingsCsv(examId)
      saveFile(file)
      toast(`Downloaded ${file.filename}`, 'success')
    } catch (e) {
      onAlert(describeError(e))
    } finally {
      setBusy(false)
    }
  }

  return (
    <div className="roster-tools" role="group" aria-label="Roster">
      <a className="button button--small" href={href.examRoster(examId)} data-testid="roster-link">
        Print roster
      </a>
      <button
        type="button"
        className="button button--small"
        onClick={exportCsv}
        disabled={busy}
        aria-busy={busy}
        data-testid="export-bookings-csv"
      >
        {busy ? 'Exporting…' : 'Export CSV'}
      </button>
    </div>
  )
}

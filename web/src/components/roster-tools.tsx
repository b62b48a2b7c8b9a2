// The exam screen's roster links: the printable roster and the bookings as a CSV download.
import { useApp } from '../app-context.js'
import { href } from '../router.js'
import { useCsvDownload } from '../use-csv-download.js'

export function RosterTools({ examId, onAlert }: { examId: string; onAlert(message: string | null): void }) {
  const { api } = useApp()
  const { busy, download } = useCsvDownload(onAlert)
  const exportCsv = () => download(() => api.exportExamBookingsCsv(examId))

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

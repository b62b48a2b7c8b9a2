// Exams overview: aggregates, filters and every exam's capacity, kept current by the change feed.
import { useCallback, useEffect, useMemo, useRef, useState } from 'react'
import { applyExamEvent, type Aggregates, type ExamRecord } from '../../../src/client/index.js'
import { useApp } from '../app-context.js'
import { AlertRegion, useAlert } from '../components/alert-region.js'
import { CapacityBar } from '../components/capacity-bar.js'
import { ChoiceField } from '../components/choice-field.js'
import { ColumnHeads } from '../components/column-heads.js'
import { ExamBadges } from '../components/exam-badges.js'
import {
  compareExams,
  formatDate,
  formatNumber,
  formatPercent,
  formatTimeRange,
  isPast,
  localToday,
  MOCK_TYPES,
} from '../format.js'
import { href } from '../router.js'
import { useCsvDownload } from '../use-csv-download.js'
import { useSnapshotFeed } from '../use-snapshot-feed.js'

interface Filters {
  active: 'all' | 'true' | 'false'
  startDate: string
  endDate: string
  type: string
  location: string
}

const NO_FILTERS: Filters = { active: 'all', startDate: '', endDate: '', type: '', location: '' }
const FILTERS_KEY = 'hubmirror.examFilters'

function loadFilters(): Filters {
  try {
    return { ...NO_FILTERS, ...(JSON.parse(sessionStorage.getItem(FILTERS_KEY) ?? '{}') as Partial<Filters>) }
  } catch {
    return NO_FILTERS
  }
}

/** The server-side filters, re-applied to rows that arrive by event. */
function matchesServerFilters(exam: ExamRecord, f: Filters): boolean {
  if (f.active !== 'all' && exam.is_active !== f.active) return false
  if (f.startDate && (exam.exam_date ?? '') < f.startDate) return false
  if (f.endDate && (exam.exam_date ?? '') > f.endDate) return false
  return true
}

export function ExamsOverview() {
  const { api, feed, can, describeError } = useApp()
  const [filters, setFilters] = useState(loadFilters)
  const [exams, setExams] = useState<ExamRecord[] | null>(null)
  const [aggregates, setAggregates] = useState<Aggregates | null>(null)
  const [alert, setAlert] = useAlert()
  const floorRef = useRef<string | null>(null)
  const requestRef = useRef(0)
  const filtersRef = useRef(filters)
  filtersRef.current = filters

  useEffect(() => {
    sessionStorage.setItem(FILTERS_KEY, JSON.stringify(filters))
  }, [filters])

  const load = useCallback(async (): Promise<string | null> => {
    const request = ++requestRef.current
    const f = filtersRef.current
    const [list, agg] = await Promise.all([
      api.listExams({
        ...(f.active !== 'all' ? { is_active: f.active === 'true' } : {}),
        ...(f.startDate ? { startDate: f.startDate } : {}),
        ...(f.endDate ? { endDate: f.endDate } : {}),
      }),
      api.getAggregates(),
    ])
    // A slower, older answer must not overwrite a newer one.
    if (request !== requestRef.current) return list.seq
    floorRef.current = list.seq
    setExams(list.exams.slice().sort(compareExams))
    setAggregates(agg.aggregates)
    return list.seq
  }, [api])

  useSnapshotFeed(
    feed,
    floorRef,
    (current) => {
      let refreshTimer: ReturnType<typeof setTimeout> | undefined
      // Seat counts and aggregates move with bookings; re-read them (cached, cheap) after a burst.
      const scheduleRefresh = () => {
        refreshTimer ??= setTimeout(() => {
          refreshTimer = undefined
          if (current()) load().catch(() => {})
        }, 300)
      }
      return {
        load,
        onEvent(event) {
          if (event.kind === 'exam') {
            setExams((list) => {
              if (!list) return list
              const next = applyExamEvent(list, event)
              return next.filter((e) => matchesServerFilters(e, filtersRef.current)).sort(compareExams)
            })
          }
          scheduleRefresh()
        },
        onLoadError: (e) => setAlert(describeError(e)),
        onRefetchError: (e) => setAlert(describeError(e)),
        dispose: () => clearTimeout(refreshTimer),
      }
    },
    // Server-side filters change the snapshot; the subscription restarts from the new one.
    [load, describeError, setAlert, filters.active, filters.startDate, filters.endDate],
  )

  const locations = useMemo(
    () => [...new Set((exams ?? []).map((e) => e.location).filter((l): l is string => !!l))].sort(),
    [exams],
  )
  const visible = useMemo(
    () =>
      (exams ?? []).filter(
        (e) =>
          (!filters.type || e.mock_type === filters.type) && (!filters.location || e.location === filters.location),
      ),
    [exams, filters.type, filters.location],
  )
  const today = localToday()
  const set = <K extends keyof Filters>(key: K, value: Filters[K]) => setFilters((f) => ({ ...f, [key]: value }))
  const filtered = JSON.stringify(filters) !== JSON.stringify(NO_FILTERS)

  return (
    <div className="screen" data-testid="exams-overview">
      <div className="screen__head">
        <h1>Mock exams</h1>
        <div className="actions">
          <ExportExamsButton filters={filters} onAlert={setAlert} />
          {can('exams.edit') ? (
            <a className="button button--primary" href={href.examNew()} data-testid="new-exam-link">
              New exam
            </a>
          ) : null}
        </div>
      </div>
      <AlertRegion message={alert} onDismiss={() => setAlert(null)} />

      {aggregates ? <AggregatesPanel aggregates={aggregates} /> : null}

      <form className="filters card" aria-label="Filter exams" onSubmit={(e) => e.preventDefault()}>
        <div className="field">
          <label htmlFor="f-active">Status</label>
          <select
            id="f-active"
            value={filters.active}
            onChange={(e) => set('active', e.target.value as Filters['active'])}
          >
            <option value="all">All</option>
            <option value="true">Active</option>
            <option value="false">Inactive</option>
          </select>
        </div>
        {(
          [
            ['f-from', 'From', 'startDate'],
            ['f-to', 'To', 'endDate'],
          ] as const
        ).map(([id, label, key]) => (
          <div key={id} className="field">
            <label htmlFor={id}>{label}</label>
            <input id={id} type="date" value={filters[key]} onChange={(e) => set(key, e.target.value)} />
          </div>
        ))}
        {(
          [
            ['f-type', 'Type', 'type', 'All types', MOCK_TYPES],
            ['f-location', 'Location', 'location', 'All locations', locations],
          ] as const
        ).map(([id, label, key, all, options]) => (
          <ChoiceField
            key={id}
            id={id}
            label={label}
            value={filters[key]}
            onChange={(v) => set(key, v)}
            all={{ label: all }}
            options={options}
          />
        ))}
        <div className="field field--action">
          <button
            type="button"
            className="button button--quiet"
            onClick={() => setFilters(NO_FILTERS)}
            disabled={!filtered}
          >
            Clear filters
          </button>
        </div>
      </form>

      {exams === null ? (
        alert ? null : (
          <p className="muted" role="status">
            Loading exams…
          </p>
        )
      ) : visible.length === 0 ? (
        <p className="empty">No exams match these filters.</p>
      ) : (
        <table className="table table--cards" data-testid="exam-table">
          <caption className="visually-hidden">
            {visible.length} exams{filtered ? ' (filtered)' : ''}
          </caption>
          <thead>
            <tr>
              <ColumnHeads labels={['Exam', 'Type', 'Date', 'Time', 'Location', 'Booked', 'Status']} />
            </tr>
          </thead>
          <tbody>
            {visible.map((exam) => (
              <tr
                key={exam.hubspot_id}
                data-testid={`exam-row-${exam.hubspot_id}`}
                data-past={isPast(exam, today) ? 'true' : undefined}
                className={isPast(exam, today) ? 'row--past' : undefined}
              >
                <th scope="row" data-label="Exam">
                  <a href={href.exam(exam.hubspot_id)}>{exam.mock_exam_name || `Exam ${exam.hubspot_id}`}</a>
                </th>
                <td data-label="Type">{exam.mock_type ?? '—'}</td>
                <td data-label="Date">{formatDate(exam.exam_date)}</td>
                <td data-label="Time">{formatTimeRange(exam)}</td>
                <td data-label="Location">{exam.location ?? '—'}</td>
                <td data-label="Booked" className="cell-wide">
                  <CapacityBar id={exam.hubspot_id} booked={exam.total_bookings} capacity={exam.capacity ?? 0} />
                </td>
                <td data-label="Status">
                  <ExamBadges exam={exam} today={today} />
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </div>
  )
}

function AggregatesPanel({ aggregates: a }: { aggregates: Aggregates }) {
  return (
    <section className="aggregates" aria-label="Totals" data-testid="aggregates">
      <div className="stat-cards">
        <Stat label="Exams" value={formatNumber(a.total_exams)} />
        <Stat label="Active" value={formatNumber(a.active_exams)} />
        <Stat label="Seats" value={formatNumber(a.total_capacity)} />
        <Stat label="Booked" value={formatNumber(a.total_bookings)} />
        <Stat label="Utilization" value={formatPercent(a.utilization)} />
      </div>
      <div className="breakdowns">
        <Breakdown
          title="By type"
          prefix="type"
          rows={a.by_type.map((r) => ({ ...r, key: r.mock_type ?? 'No type' }))}
        />
        <Breakdown
          title="By location"
          prefix="location"
          rows={a.by_location.map((r) => ({ ...r, key: r.location ?? 'No location' }))}
        />
      </div>
    </section>
  )
}

function Stat({ label, value }: { label: string; value: string }) {
  return (
    <div className="stat card">
      <div className="stat__value">{value}</div>
      <div className="stat__label">{label}</div>
    </div>
  )
}

function Breakdown({
  title,
  prefix,
  rows,
}: {
  title: string
  prefix: string
  rows: { key: string; exams: number; capacity: number; bookings: number }[]
}) {
  return (
    <div className="breakdown card">
      <h2>{title}</h2>
      {rows.length === 0 ? (
        <p className="muted small">No exams.</p>
      ) : (
        <ul className="bars">
          {rows.map((r) => (
            <li key={r.key || '—'}>
              <span className="bars__label" title={`${r.exams} exams`}>
                {r.key || '—'}
              </span>
              <CapacityBar id={`${prefix}-${r.key}`} booked={r.bookings} capacity={r.capacity} compact />
            </li>
          ))}
        </ul>
      )}
    </div>
  )
}

/** The exam list as CSV, with the server-side filters (status and dates) applied as the list applies them. */
function ExportExamsButton({ filters, onAlert }: { filters: Filters; onAlert(message: string | null): void }) {
  const { api } = useApp()
  const { busy, download } = useCsvDownload(onAlert)
  const exportCsv = () =>
    download(() =>
      api.exportExamsCsv({
        ...(filters.active !== 'all' ? { is_active: filters.active === 'true' } : {}),
        ...(filters.startDate ? { startDate: filters.startDate } : {}),
        ...(filters.endDate ? { endDate: filters.endDate } : {}),
      }),
    )
  return (
    <button type="button" className="button" onClick={exportCsv} disabled={busy} data-testid="export-exams-csv">
      {busy ? 'Exporting…' : 'Export CSV'}
    </button>
  )
}

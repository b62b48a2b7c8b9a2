// Sync status: last pulls, lag, the HubSpot rate budget, 429s, drift, the force-sync buttons, and the doctor's checks.
import { useCallback, useEffect, useState } from 'react'
import type {
  DoctorReport,
  DriftReport,
  ExamRecord,
  ObjectSyncState,
  ReconcileProgress,
  SyncStatus,
} from '../../../src/client/index.js'
import { useApp } from '../app-context.js'
import { ActionButton } from '../components/action-button.js'
import { AlertRegion, useAlert } from '../components/alert-region.js'
import { Gauge } from '../components/gauge.js'
import {
  describeDrift,
  describePull,
  driftCount,
  formatAgo,
  formatDate,
  formatDateTime,
  formatDuration,
  formatNumber,
} from '../format.js'
import { useBusyAction } from '../use-busy-action.js'

const POLL_MS = 5_000
/** While a reconcile runs from this screen, its progress (phase, objects listed) is read this often. */
const PROGRESS_POLL_MS = 1_000

export function SyncStatusScreen() {
  const { api, feed, can, describeError, toast } = useApp()
  const [status, setStatus] = useState<SyncStatus | null>(null)
  const [loadedAt, setLoadedAt] = useState(0)
  const [exams, setExams] = useState<ExamRecord[]>([])
  const [examId, setExamId] = useState('')
  const [alert, setAlert] = useAlert()
  const [report, setReport] = useState<DriftReport | null>(null)
  const [fix, setFix] = useState(false)

  const load = useCallback(async () => {
    try {
      const res = await api.getSyncStatus()
      setStatus(res.status)
      setLoadedAt(Date.now())
    } catch (e) {
      setAlert(describeError(e))
    }
  }, [api, describeError, setAlert])

  // A read of the replica's own bookkeeping, not of HubSpot: cheap to refresh while on screen.
  useEffect(() => {
    void load()
    const timer = setInterval(() => {
      if (document.visibilityState === 'visible') void load()
    }, POLL_MS)
    // A pull lands as change events; show its effect on the cursors without waiting for the timer.
    let debounce: ReturnType<typeof setTimeout> | undefined
    const sub = feed.subscribe({
      after: null,
      onEvent() {
        debounce ??= setTimeout(() => {
          debounce = undefined
          void load()
        }, 500)
      },
      onRefetch: (head) => sub.resume(head || null),
    })
    return () => {
      clearInterval(timer)
      clearTimeout(debounce)
      sub.close()
    }
  }, [load, feed])

  useEffect(() => {
    api
      .listExams()
      .then((res) => setExams(res.exams))
      .catch(() => {})
  }, [api])

  const action = useBusyAction(setAlert)
  const reconciling = action.busy === 'reconcile'
  useEffect(() => {
    if (!reconciling) return
    const timer = setInterval(() => void load(), PROGRESS_POLL_MS)
    return () => clearInterval(timer)
  }, [reconciling, load])

  /** An action that says what it did: toasted, then the status re-read to show its effect. */
  const reporting = (fn: () => Promise<string>) => async () => {
    toast(await fn(), 'success')
    await load()
  }

  const hs = status?.hubspot
  return (
    <div className="screen" data-testid="sync-status">
      <div className="screen__head">
        <h1>Sync status</h1>
        <span className="muted small" role="status">
          {status ? `Updated ${formatAgo(new Date(loadedAt).toISOString())}` : alert ? '' : 'Loading…'}
          {status?.pulling ? ' · pulling now' : ''}
        </span>
      </div>
      <AlertRegion message={alert} onDismiss={() => setAlert(null)} />
      {status && hs ? (
        <>
          <div className="stat-cards">
            <div className="stat card" data-testid="sync-lag">
              <div className="stat__value">{formatDuration(status.lag_ms)}</div>
              <div className="stat__label">Replica lag (age of newest pull)</div>
            </div>
            <div className="stat card">
              <div className="stat__value">{formatNumber(hs.rate_limited_total)}</div>
              <div className="stat__label">HubSpot 429s</div>
            </div>
            <div className="stat card">
              <div className="stat__value">{formatNumber(hs.calls_total)}</div>
              <div className="stat__label">HubSpot calls</div>
            </div>
            <div className="stat card">
              <div className="stat__value">{formatNumber(status.watchers)}</div>
              <div className="stat__label">Live watchers</div>
            </div>
          </div>

          <div className="sync-grid">
            <section className="card" aria-labelledby="budget-title">
              <h2 id="budget-title">HubSpot budget</h2>
              <Gauge label="Last 10 seconds" used={hs.used_10s} limit={hs.limit_10s} testId="gauge-10s" />
              <Gauge label="Today" used={hs.used_daily} limit={hs.daily_limit} testId="gauge-daily" />
              <p className="muted small">Search: up to {formatNumber(hs.search_limit_s)} requests per second.</p>
            </section>

            <section className="card" aria-labelledby="objects-title">
              <h2 id="objects-title">Last pulls</h2>
              <table className="table table--compact">
                <thead>
                  <tr>
                    <th scope="col">Object</th>
                    <th scope="col">Last pull</th>
                    <th scope="col">Took</th>
                    <th scope="col">Rows</th>
                  </tr>
                </thead>
                <tbody>
                  <ObjectRow name="Exams" state={status.objects.exams} />
                  <ObjectRow name="Bookings" state={status.objects.bookings} />
                </tbody>
              </table>
            </section>

            <section className="card" aria-labelledby="drift-title" data-testid="drift">
              <h2 id="drift-title">Drift</h2>
              {status.drift ? (
                <dl className="kv">
                  <dt>Checked</dt>
                  <dd>{formatDateTime(status.drift.checked_at)}</dd>
                  <dt>Missing in replica</dt>
                  <dd data-testid="drift-missing">{formatNumber(status.drift.missing_in_replica)}</dd>
                  <dt>Extra in replica</dt>
                  <dd data-testid="drift-extra">{formatNumber(status.drift.extra_in_replica)}</dd>
                  <dt>Stale in replica</dt>
                  <dd data-testid="drift-stale">{formatNumber(status.drift.stale_in_replica)}</dd>
                  <dt>Fixed</dt>
                  <dd>{formatNumber(status.drift.fixed)}</dd>
                </dl>
              ) : (
                <p className="muted small" data-testid="drift-none">
                  No reconcile has run yet. {can('sync.run') ? 'Run one here, or' : 'Run one with'}{' '}
                  <code>npx hubmirror reconcile</code>.
                </p>
              )}
              {report ? <DriftTable report={report} /> : null}
              <ReconcileState running={reconciling} progress={status.reconcile} />
              {can('sync.run') ? (
                <div className="actions">
                  <ActionButton
                    action={action}
                    name="reconcile"
                    busyLabel="Reconciling…"
                    testId="run-reconcile"
                    disabled={status.reconcile?.running === true}
                    run={reporting(async () => {
                      const { report: found } = await api.reconcileSync({ fix })
                      setReport(found)
                      return describeDrift(found)
                    })}
                  >
                    Run reconcile
                  </ActionButton>
                  <label className="check">
                    <input
                      type="checkbox"
                      data-testid="reconcile-fix"
                      checked={fix}
                      disabled={action.busy !== null}
                      onChange={(e) => setFix(e.target.checked)}
                    />{' '}
                    Repair what it finds
                  </label>
                </div>
              ) : null}
            </section>

            <section className="card" aria-labelledby="actions-title">
              <h2 id="actions-title">Actions</h2>
              <div className="actions actions--stack">
                {can('sync.run') ? (
                  <ActionButton
                    action={action}
                    name="pull"
                    busyLabel="Pulling…"
                    testId="pull-now"
                    run={reporting(async () => describePull(await api.pullSync({})))}
                  >
                    Pull changes now
                  </ActionButton>
                ) : null}
                {can('exams.edit') ? (
                  <>
                    <ActionButton
                      action={action}
                      name="exams"
                      busyLabel="Syncing exams…"
                      testId="force-sync-exams"
                      run={reporting(async () => {
                        const res = await api.forceSync({ type: 'exams' })
                        return `${res.message || 'Exams re-synced'} (${res.count})`
                      })}
                    >
                      Force sync all exams
                    </ActionButton>
                    <div className="field-row field-row--end">
                      <div className="field">
                        <label htmlFor="force-exam">Exam</label>
                        <select id="force-exam" value={examId} onChange={(e) => setExamId(e.target.value)}>
                          <option value="">Choose an exam…</option>
                          {exams.map((x) => (
                            <option key={x.hubspot_id} value={x.hubspot_id}>
                              {x.mock_exam_name ?? x.hubspot_id} · {formatDate(x.exam_date)}
                            </option>
                          ))}
                        </select>
                      </div>
                      <ActionButton
                        action={action}
                        name="bookings"
                        busyLabel="Syncing…"
                        testId="force-sync-bookings"
                        disabled={!examId}
                        run={reporting(async () => {
                          const res = await api.forceSync({ type: 'bookings', examId })
                          return `${res.message || 'Bookings re-synced'} (${res.count})`
                        })}
                      >
                        Force sync bookings
                      </ActionButton>
                    </div>
                  </>
                ) : null}
                {!can('sync.run') && !can('exams.edit') ? (
                  <p className="muted small">Your token cannot start syncs.</p>
                ) : null}
              </div>
            </section>
          </div>
        </>
      ) : null}
      <DoctorCard />
    </div>
  )
}

/** Progress while a reconcile runs (from this screen or from `hubmirror reconcile`): its phase and count. */
function ReconcileState({ running, progress }: { running: boolean; progress: ReconcileProgress | undefined }) {
  if (!running && !progress?.running) return null
  const phase = progress?.running ? (progress.phase ?? 'starting') : 'starting'
  return (
    <div className="reconcile-progress" role="status" data-testid="reconcile-progress">
      <progress aria-label="Reconcile progress" />
      <span className="small">
        Reconciling{progress?.running && progress.fix ? ' and repairing' : ''}: {phase}
        {progress?.running ? ` · ${formatNumber(progress.listed)} HubSpot objects listed` : ''}
      </span>
    </div>
  )
}

/** What the last reconcile run from this screen found, object by object (a list: it fits a phone). */
function DriftTable({ report }: { report: DriftReport }) {
  const rows = [
    ['Exams', report.objects.exams],
    ['Bookings', report.objects.bookings],
  ] as const
  return (
    <div className="reconcile-report" data-testid="reconcile-report" data-drift={driftCount(report)}>
      <p className="small muted">
        Last run here: {formatDateTime(report.checked_at)} · {formatNumber(report.calls)} HubSpot calls ·{' '}
        {formatDuration(report.ms)}
      </p>
      <ul className="small">
        {rows.map(([name, d]) => (
          <li key={name} data-testid={`reconcile-${name.toLowerCase()}`}>
            <strong>{name}</strong>: HubSpot {formatNumber(d.hubspot_rows)}, replica {formatNumber(d.replica_rows)} ·{' '}
            {formatNumber(d.missing_in_replica)} missing, {formatNumber(d.extra_in_replica)} extra,{' '}
            {formatNumber(d.stale_in_replica)} stale
          </li>
        ))}
      </ul>
    </div>
  )
}

const STATUS_LABEL = { ok: 'passed', warn: 'look at this', fail: 'failed', skip: 'not checked' } as const

/** The same checks as `hubmirror doctor`. Loaded on demand, not polled: each run asks HubSpot once. */
function DoctorCard() {
  const { api, describeError } = useApp()
  const [doctor, setDoctor] = useState<DoctorReport | null>(null)
  const [error, setError] = useState<string | null>(null)
  const [checking, setChecking] = useState(false)

  const check = useCallback(async () => {
    setChecking(true)
    setError(null)
    try {
      setDoctor((await api.getDoctor()).doctor)
    } catch (e) {
      setError(describeError(e))
    } finally {
      setChecking(false)
    }
  }, [api, describeError])

  useEffect(() => {
    void check()
  }, [check])

  const failed = doctor?.checks.filter((c) => c.status === 'fail').length ?? 0
  return (
    <section className="card doctor" aria-labelledby="doctor-title" data-testid="doctor">
      <div className="screen__head">
        <h2 id="doctor-title">Checks</h2>
        <span className="muted small" role="status" data-testid="doctor-summary">
          {checking
            ? 'Checking…'
            : doctor
              ? `${failed ? `${failed} failed` : 'All passed'} · ${formatDateTime(doctor.checked_at)}`
              : ''}
        </span>
        <button type="button" className="button button--quiet" onClick={() => void check()} disabled={checking}>
          Check again
        </button>
      </div>
      {error ? (
        <p className="alert" role="alert">
          {error}
        </p>
      ) : null}
      {doctor ? (
        <ul className="doctor__list">
          {doctor.checks.map((c) => (
            <li
              key={c.id}
              className={`doctor__item doctor__item--${c.status}`}
              data-check={c.id}
              data-status={c.status}
            >
              <span className="doctor__mark" aria-label={STATUS_LABEL[c.status]} title={STATUS_LABEL[c.status]}>
                {{ ok: '✓', warn: '!', fail: '✗', skip: '–' }[c.status]}
              </span>
              <div>
                <strong>{c.title}</strong> <span className="muted">{c.summary}</span>
                {c.details?.length ? (
                  <ul className="small">
                    {c.details.map((d) => (
                      <li key={d}>{d}</li>
                    ))}
                  </ul>
                ) : null}
                {c.fix ? (
                  <p className="small">
                    Fix: <code>{c.fix}</code>
                  </p>
                ) : null}
              </div>
            </li>
          ))}
        </ul>
      ) : null}
    </section>
  )
}

function ObjectRow({ name, state }: { name: string; state: ObjectSyncState | undefined }) {
  return (
    <tr>
      <th scope="row">{name}</th>
      <td title={state?.last_pull_at ?? undefined}>{formatAgo(state?.last_pull_at)}</td>
      <td>{formatDuration(state?.last_pull_ms)}</td>
      <td>{formatNumber(state?.rows)}</td>
    </tr>
  )
}

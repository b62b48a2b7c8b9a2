// Sync status: last pulls, lag, the HubSpot rate budget, 429s, drift, the force-sync buttons, and the doctor's checks.
import { useCallback, useEffect, useState } from 'react'
import type { DoctorReport, ExamRecord, ObjectSyncState, SyncStatus } from '../../../src/client/index.js'
import { useApp } from '../app-context.js'
import { AlertRegion, useAlert } from '../components/alert-region.js'
import { Gauge } from '../components/gauge.js'
import { describePull, formatAgo, formatDate, formatDateTime, formatDuration, formatNumber } from '../format.js'

const POLL_MS = 5_000

export function SyncStatusScreen() {
  const { api, feed, can, describeError, toast } = useApp()
  const [status, setStatus] = useState<SyncStatus | null>(null)
  const [loadedAt, setLoadedAt] = useState(0)
  const [exams, setExams] = useState<ExamRecord[]>([])
  const [examId, setExamId] = useState('')
  const [busy, setBusy] = useState<string | null>(null)
  const [alert, setAlert] = useAlert()

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

  async function run(name: string, fn: () => Promise<string>) {
    setBusy(name)
    setAlert(null)
    try {
      toast(await fn(), 'success')
      await load()
    } catch (e) {
      setAlert(describeError(e))
    } finally {
      setBusy(null)
    }
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
                  <dd>{formatNumber(status.drift.missing_in_replica)}</dd>
                  <dt>Extra in replica</dt>
                  <dd>{formatNumber(status.drift.extra_in_replica)}</dd>
                  <dt>Stale in replica</dt>
                  <dd>{formatNumber(status.drift.stale_in_replica)}</dd>
                  <dt>Fixed</dt>
                  <dd>{String(status.drift.fixed)}</dd>
                </dl>
              ) : (
                <p className="muted small">
                  No reconcile has run yet (<code>npx hubmirror reconcile</code>).
                </p>
              )}
            </section>

            <section className="card" aria-labelledby="actions-title">
              <h2 id="actions-title">Actions</h2>
              <div className="actions actions--stack">
                {can('sync.run') ? (
                  <button
                    type="button"
                    className="button"
                    disabled={busy !== null}
                    onClick={() => run('pull', async () => describePull(await api.pullSync({})))}
                  >
                    {busy === 'pull' ? 'Pulling…' : 'Pull changes now'}
                  </button>
                ) : null}
                {can('exams.edit') ? (
                  <>
                    <button
                      type="button"
                      className="button"
                      data-testid="force-sync-exams"
                      disabled={busy !== null}
                      onClick={() =>
                        run('exams', async () => {
                          const res = await api.forceSync({ type: 'exams' })
                          return `${res.message || 'Exams re-synced'} (${res.count})`
                        })
                      }
                    >
                      {busy === 'exams' ? 'Syncing exams…' : 'Force sync all exams'}
                    </button>
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
                      <button
                        type="button"
                        className="button"
                        data-testid="force-sync-bookings"
                        disabled={busy !== null || !examId}
                        onClick={() =>
                          run('bookings', async () => {
                            const res = await api.forceSync({ type: 'bookings', examId })
                            return `${res.message || 'Bookings re-synced'} (${res.count})`
                          })
                        }
                      >
                        {busy === 'bookings' ? 'Syncing…' : 'Force sync bookings'}
                      </button>
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

// The doctor's report: one line per check, each failure with what to do about it.
import { CHECK_IDS, type Check, type CheckId, type CheckStatus, type DoctorReport } from '../model/doctor.js'

export { CHECK_IDS, type Check, type CheckId, type CheckStatus, type DoctorReport }

export const CHECK_TITLES: Record<CheckId, string> = {
  database: 'database reachable',
  migrations: 'migrations applied',
  pool: 'connection pool mode',
  listen: 'LISTEN/NOTIFY works',
  rls: 'row-level security',
  grants: 'Data API grants',
  redis: 'Redis',
  hubspot_token: 'HubSpot token',
  hubspot_objects: 'HubSpot custom objects',
  hubspot_limits: 'HubSpot limits',
  hubspot_budget: 'HubSpot daily budget',
  jwt: 'JWT configuration',
  clock: 'clock vs HubSpot',
  data_dir: 'data dir owner-only',
}

export function check(
  id: CheckId,
  status: CheckStatus,
  summary: string,
  extra: { fix?: string; details?: string[] } = {},
): Check {
  return {
    id,
    title: CHECK_TITLES[id],
    status,
    summary,
    ...(extra.fix && status !== 'ok' ? { fix: extra.fix } : {}),
    ...(extra.details?.length ? { details: extra.details } : {}),
  }
}

export function report(checks: Check[], now = new Date()): DoctorReport {
  const order = new Map(CHECK_IDS.map((id, i) => [id, i]))
  // A check cut short (timed out with its group) still gets its line.
  const missing = CHECK_IDS.filter((id) => !checks.some((c) => c.id === id)).map((id) =>
    check(id, 'skip', 'not checked'),
  )
  const sorted = [...checks, ...missing].sort((a, b) => order.get(a.id)! - order.get(b.id)!)
  return { ok: sorted.every((c) => c.status !== 'fail'), checked_at: now.toISOString(), checks: sorted }
}

const MARK: Record<CheckStatus, string> = { ok: '✓', warn: '!', fail: '✗', skip: '-' }

/** The checklist as a person reads it in a terminal. */
export function formatReport(doctor: DoctorReport): string {
  const width = Math.max(...doctor.checks.map((c) => c.title.length))
  const lines: string[] = []
  for (const c of doctor.checks) {
    lines.push(`${MARK[c.status]} ${c.title.padEnd(width)}  ${c.summary}`)
    const indent = ' '.repeat(width + 4)
    for (const detail of c.details ?? []) lines.push(`${indent}· ${detail}`)
    if (c.fix) lines.push(`${indent}fix: ${c.fix}`)
  }
  const failed = doctor.checks.filter((c) => c.status === 'fail').length
  const warned = doctor.checks.filter((c) => c.status === 'warn').length
  lines.push(
    '',
    failed
      ? `${failed} failed${warned ? `, ${warned} to look at` : ''}`
      : warned
        ? `all passed, ${warned} to look at`
        : 'all passed',
  )
  return lines.join('\n')
}

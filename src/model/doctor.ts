// The shape of a doctor report (`hubmirror doctor --json`, GET /api/sync/doctor), shared by server and client.

/** ok: fine as it is; warn: works, but worth a look; fail: broken or unsafe; skip: could not be checked (an earlier line failed). */
export type CheckStatus = 'ok' | 'warn' | 'fail' | 'skip'

export const CHECK_IDS = [
  'database',
  'migrations',
  'pool',
  'listen',
  'rls',
  'grants',
  'redis',
  'hubspot_token',
  'hubspot_objects',
  'hubspot_limits',
  'hubspot_budget',
  'jwt',
  'clock',
  'data_dir',
] as const

export type CheckId = (typeof CHECK_IDS)[number]

export interface Check {
  id: CheckId
  title: string
  status: CheckStatus
  /** One line saying what was found. */
  summary: string
  /** What to do, on warn and fail. */
  fix?: string
  /** Per-item findings (tables, roles), when there are several. */
  details?: string[]
}

export interface DoctorReport {
  /** false when any check failed (the CLI exits 1). */
  ok: boolean
  checked_at: string
  checks: Check[]
}

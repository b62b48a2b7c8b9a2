// What every doctor check shares: its input, the bound on how long one may take, and how errors and URLs go into messages.
import type { Config } from '../config/index.js'
import type { RateBudget } from '../hubspot/index.js'
import type { ReplicaDriver } from '../replica/index.js'
import { check, type Check } from './report.js'

export interface DoctorInput {
  config: Config
  /** The replica to look at; null when it could not be opened (dbError says why). */
  db: ReplicaDriver | null
  dbError?: unknown
  /** HubSpot as this deployment reaches it; null when none is configured here. */
  hubspot: { baseUrl: string; accessToken: string } | null
  /** Said instead of checking HubSpot when `hubspot` is null and that is expected. */
  hubspotAbsent?: string
  /** The rate budget this process spends from (what the deployment used today). */
  budget?: RateBudget | null
}

/** Longest any one check may take: a doctor must answer even when everything hangs. */
export const CHECK_TIMEOUT_MS = 6_000

export async function bounded(id: Check['id'], fn: () => Promise<Check | Check[]>): Promise<Check[]> {
  let timer: NodeJS.Timeout | undefined
  const timeout = new Promise<Check>((resolve) => {
    timer = setTimeout(
      () => resolve(check(id, 'fail', `no answer within ${CHECK_TIMEOUT_MS / 1000} s`, { fix: 'see the lines above' })),
      CHECK_TIMEOUT_MS,
    )
  })
  try {
    const result = await Promise.race([
      fn().catch((error) => check(id, 'fail', `check failed: ${message(error)}`)),
      timeout,
    ])
    return Array.isArray(result) ? result : [result]
  } finally {
    clearTimeout(timer)
  }
}

export function message(error: unknown): string {
  const e = error as { code?: string; message?: string } | null
  const text = String(e?.message ?? error).split('\n')[0]
  return e?.code && !text.includes(e.code) ? `${text} (${e.code})` : text
}

/** A URL without its password, for messages. */
export function redact(url: string): string {
  try {
    const parsed = new URL(url)
    if (parsed.password) parsed.password = '***'
    return parsed.toString()
  } catch {
    return '(unparsable URL)'
  }
}

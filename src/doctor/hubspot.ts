// The HubSpot checks: the token and its scopes, the custom objects, the stated rate limits and the daily budget left.
import type { Config } from '../config/index.js'
import { hubspotPaths, probeHubSpot, resolveObjectType, type HubSpotProbe, type RateBudget } from '../hubspot/index.js'
import { clockCheck } from './clock.js'
import { CHECK_TIMEOUT_MS, message, type DoctorInput } from './common.js'
import { check, type Check } from './report.js'

/** Below this share of the daily allowance left, say so before it runs out. */
const BUDGET_WARN_SHARE = 0.1

const HUBSPOT_IDS = ['hubspot_token', 'hubspot_objects', 'hubspot_limits', 'hubspot_budget', 'clock'] as const

export async function hubspotChecks(input: DoctorInput): Promise<Check[]> {
  const { hubspot, config } = input
  if (!hubspot) {
    const why = input.hubspotAbsent ?? 'no HUBSPOT_ACCESS_TOKEN or HUBSPOT_BASE_URL: the service serves reads only'
    return [
      check('hubspot_token', input.hubspotAbsent ? 'ok' : 'warn', why, {
        fix: 'set HUBSPOT_ACCESS_TOKEN (a private-app token) to sync HubSpot',
      }),
      ...HUBSPOT_IDS.slice(1).map((id) => check(id, 'skip', 'no HubSpot to ask here')),
    ]
  }
  const probe = await probeWithin(probeHubSpot(hubspot, hubspotPaths(config.hubspot.apiVersion)))
  const token = tokenCheck(probe, hubspot.baseUrl)
  if (!probe.reachable || token.status === 'fail')
    return [token, ...HUBSPOT_IDS.slice(1).map((id) => check(id, 'skip', 'HubSpot did not accept the call'))]
  return [
    token,
    objectsCheck(probe, config),
    limitsCheck(probe, config),
    await budgetCheck(probe, input.budget ?? null),
    clockCheck(probe),
  ]
}

async function probeWithin(promise: Promise<HubSpotProbe>): Promise<HubSpotProbe> {
  let timer: NodeJS.Timeout | undefined
  const timeout = new Promise<HubSpotProbe>(
    (resolve) => (timer = setTimeout(() => resolve({ reachable: false, error: 'timeout' }), CHECK_TIMEOUT_MS)),
  )
  try {
    return await Promise.race([promise, timeout])
  } finally {
    clearTimeout(timer)
  }
}

function tokenCheck(probe: HubSpotProbe, baseUrl: string): Check {
  if (!probe.reachable)
    return check('hubspot_token', 'fail', `HubSpot at ${baseUrl} did not answer (${probe.error})`, {
      fix: 'check the network and HUBSPOT_BASE_URL (unset means https://api.hubapi.com)',
    })
  const scopes =
    'a private app token (HUBSPOT_ACCESS_TOKEN) with crm.schemas.custom.read, crm.objects.custom.read and crm.objects.custom.write'
  if (probe.status === 401)
    return check(
      'hubspot_token',
      'fail',
      `HubSpot refused the token (401${probe.message ? `: ${probe.message}` : ''})`,
      {
        fix: `set HUBSPOT_ACCESS_TOKEN to ${scopes}; rotated tokens must be replaced`,
      },
    )
  if (probe.status === 403)
    return check('hubspot_token', 'fail', `the token lacks a scope (403${probe.message ? `: ${probe.message}` : ''})`, {
      fix: `give the private app the scopes: ${scopes}`,
    })
  if (probe.status === 429)
    return check('hubspot_token', 'warn', 'HubSpot answered 429: rate-limited right now', {
      fix: 'wait; if it persists, another app of the account is using the limit',
    })
  if (probe.status >= 400)
    return check(
      'hubspot_token',
      'fail',
      `HubSpot answered ${probe.status}${probe.message ? `: ${probe.message}` : ''}`,
      {
        fix: 'check HUBSPOT_BASE_URL and HUBSPOT_API_VERSION',
      },
    )
  return check('hubspot_token', 'ok', `accepted by ${new URL(baseUrl).host}`)
}

function objectsCheck(probe: Extract<HubSpotProbe, { reachable: true }>, config: Config): Check {
  const found: string[] = []
  const missing: string[] = []
  for (const [ref, name, variable] of [
    [config.hubspot.mockExamsObject, 'mock_exams', 'HUBSPOT_MOCK_EXAMS_OBJECT'],
    [config.hubspot.bookingsObject, 'bookings', 'HUBSPOT_BOOKINGS_OBJECT'],
  ] as const) {
    try {
      const id = resolveObjectType(probe.schemas, ref, name, variable)
      if (!probe.schemas.some((s) => s.objectTypeId === id)) throw new Error(`${variable}: HubSpot has no object ${id}`)
      found.push(`${name} ${id}`)
    } catch (error) {
      missing.push(message(error))
    }
  }
  if (missing.length)
    return check('hubspot_objects', 'fail', missing.join('; '), {
      fix: 'create the mock_exams and bookings custom objects in HubSpot, or set HUBSPOT_MOCK_EXAMS_OBJECT / HUBSPOT_BOOKINGS_OBJECT to their 2-… ids',
    })
  return check('hubspot_objects', 'ok', found.join(', '))
}

function limitsCheck(probe: Extract<HubSpotProbe, { reachable: true }>, config: Config): Check {
  const { max, intervalMs, daily } = probe.limits
  const configured = `HUBSPOT_RATE_LIMIT_10S=${config.hubspot.rateLimit10s}, HUBSPOT_DAILY_LIMIT=${config.hubspot.dailyLimit}`
  if (max === null && daily === null)
    return check('hubspot_limits', 'warn', `HubSpot sent no rate-limit headers; going by ${configured}`, {
      fix: 'set the two variables to your account tier (HubSpot omits the daily pair for OAuth apps)',
    })
  const per10s = max !== null ? Math.floor((max * 10_000) / (intervalMs || 10_000)) : null
  const stated = [
    per10s !== null ? `${per10s} per 10 s` : null,
    daily !== null ? `${daily.toLocaleString('en')} a day` : null,
  ]
    .filter(Boolean)
    .join(', ')
  const over: string[] = []
  if (per10s !== null && config.hubspot.rateLimit10s > per10s) over.push(`HUBSPOT_RATE_LIMIT_10S=${per10s}`)
  if (daily !== null && config.hubspot.dailyLimit > daily) over.push(`HUBSPOT_DAILY_LIMIT=${daily}`)
  if (over.length)
    return check('hubspot_limits', 'fail', `HubSpot states ${stated}; configured above that (${configured})`, {
      fix: `set ${over.join(' and ')}: above HubSpot's limits every burst ends in 429s`,
    })
  return check('hubspot_limits', 'ok', `HubSpot states ${stated}; configured within (${configured})`)
}

async function budgetCheck(
  probe: Extract<HubSpotProbe, { reachable: true }>,
  budget: RateBudget | null,
): Promise<Check> {
  const { daily, dailyRemaining } = probe.limits
  const ours = budget ? await budget.usage().catch(() => null) : null
  const usedHere = ours ? `; this deployment used ${ours.used_daily.toLocaleString('en')} today` : ''
  if (daily === null || dailyRemaining === null)
    return check('hubspot_budget', 'ok', `HubSpot does not state the daily budget (OAuth apps have none)${usedHere}`)
  const left = `${dailyRemaining.toLocaleString('en')} of ${daily.toLocaleString('en')} left today${usedHere}`
  if (dailyRemaining <= 0)
    return check('hubspot_budget', 'fail', `the daily limit is used up (${left})`, {
      fix: "HubSpot refuses calls until midnight in the account's time zone: wait, or find the app spending it",
    })
  if (dailyRemaining < daily * BUDGET_WARN_SHARE)
    return check('hubspot_budget', 'warn', left, { fix: 'less than 10% left: find what is spending it' })
  return check('hubspot_budget', 'ok', left)
}

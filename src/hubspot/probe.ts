// One diagnostic call to HubSpot (for `hubmirror doctor`): is the token accepted, which custom objects exist,
// which limits HubSpot states in its rate-limit headers, and what time its Date header says.
import type { HubSpotPaths } from './paths.js'

export interface HubSpotLimitsStated {
  /** X-HubSpot-RateLimit-Max over X-HubSpot-RateLimit-Interval-Milliseconds */
  max: number | null
  intervalMs: number | null
  remaining: number | null
  /** Omitted by HubSpot for OAuth apps. */
  daily: number | null
  dailyRemaining: number | null
}

export type HubSpotProbe =
  | { reachable: false; error: string }
  | {
      reachable: true
      status: number
      /** HubSpot's clock (Date header, 1 s resolution), and ours at the midpoint of the call. */
      serverTime: number | null
      localTime: number
      limits: HubSpotLimitsStated
      /** The custom objects' names and ids, when the token was accepted. */
      schemas: Array<{ name: string; objectTypeId: string; fullyQualifiedName?: string }>
      message: string | null
    }

const PROBE_TIMEOUT_MS = 5_000

function numberHeader(headers: Headers, name: string): number | null {
  const raw = headers.get(name)
  if (raw === null || raw.trim() === '') return null
  const value = Number(raw)
  return Number.isFinite(value) ? value : null
}

/**
 * Not through the client: the client's retries and budget would hide exactly what this reports
 * (a refused token, the headers). It is one request, counted by HubSpot like any other.
 */
export async function probeHubSpot(
  settings: { baseUrl: string; accessToken: string },
  paths: HubSpotPaths,
): Promise<HubSpotProbe> {
  const sent = Date.now()
  let response: Response
  try {
    response = await fetch(settings.baseUrl.replace(/\/$/, '') + paths.schemas(), {
      headers: { authorization: `Bearer ${settings.accessToken}`, accept: 'application/json' },
      signal: AbortSignal.timeout(PROBE_TIMEOUT_MS),
    })
  } catch (error) {
    const cause = (error as { cause?: { code?: string } }).cause?.code
    return { reachable: false, error: cause ?? (error as Error).name ?? 'network error' }
  }
  const localTime = Math.round((sent + Date.now()) / 2)
  const text = await response.text().catch(() => '')
  let body: { results?: unknown; message?: unknown } | null = null
  try {
    body = text ? JSON.parse(text) : null
  } catch {
    body = null
  }
  const date = response.headers.get('date')
  const h = response.headers
  return {
    reachable: true,
    status: response.status,
    serverTime: date ? Date.parse(date) || null : null,
    localTime,
    limits: {
      max: numberHeader(h, 'x-hubspot-ratelimit-max'),
      intervalMs: numberHeader(h, 'x-hubspot-ratelimit-interval-milliseconds'),
      remaining: numberHeader(h, 'x-hubspot-ratelimit-remaining'),
      daily: numberHeader(h, 'x-hubspot-ratelimit-daily'),
      dailyRemaining: numberHeader(h, 'x-hubspot-ratelimit-daily-remaining'),
    },
    schemas:
      response.ok && Array.isArray(body?.results)
        ? (body.results as Array<{ name: string; objectTypeId: string; fullyQualifiedName?: string }>)
        : [],
    message: response.ok ? null : typeof body?.message === 'string' ? body.message.slice(0, 300) : null,
  }
}

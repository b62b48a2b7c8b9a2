// The one HubSpot client: every call passes the rate budget, retries what is safe to retry, and maps failures to coded errors.
import { setTimeout as sleep } from 'node:timers/promises'
import { AppError } from '../errors.js'
import { DailyLimitExhausted, type CallKind, type RateBudget } from './budget.js'
import { takeHeldSlot } from './held-slot.js'
import { parseRateLimitHeaders } from './learned-limits.js'

export interface HubSpotObject {
  id: string
  properties: Record<string, string | null>
  createdAt: string
  updatedAt: string
  archived: boolean
  archivedAt?: string
  /** When asked for: each property's versions, newest first. */
  propertiesWithHistory?: Record<string, PropertyVersion[]>
}

/** One version of a property, as HubSpot's property history gives it. */
export interface PropertyVersion {
  value: string
  timestamp: string
  sourceType: string
  sourceId?: string
  sourceLabel?: string
  updatedByUserId?: number
}

export interface PageOf<T> {
  results: T[]
  paging?: { next?: { after: string } }
  total?: number
}

export interface BatchResult<T> {
  status: string
  results: T[]
  numErrors?: number
  errors?: Array<{ status?: string; category?: string; message: string; context?: Record<string, string[]> }>
}

export interface ClientStats {
  calls: number
  rateLimited: number
  retries: number
  failures: number
}

export interface RetryPolicy {
  maxAttempts: number
  /** Give up (and report the error) once this much time has passed. */
  deadlineMs: number
  requestTimeoutMs: number
}

export interface HubSpotClientOptions {
  baseUrl: string
  accessToken: string
  budget: RateBudget
  retry?: Partial<RetryPolicy>
  onRateLimited?: (policy: string) => void
}

interface RequestOptions {
  kind?: CallKind
  /** A call HubSpot may have applied before failing (timeout, 5xx) is retried only when repeating it is harmless. */
  idempotent: boolean
  /** Statuses that are an answer rather than an error (e.g. 404 for a get). */
  accept?: number[]
  /** Creates and changes records: HubSpot's write validation may refuse it (400 VALIDATION_ERROR). */
  write?: boolean
}

const RETRYABLE_STATUS = new Set([423, 429, 500, 502, 503, 504, 521, 523, 524])

export class HubSpotClient {
  readonly stats: ClientStats = { calls: 0, rateLimited: 0, retries: 0, failures: 0 }
  readonly baseUrl: string
  readonly #token: string
  readonly #budget: RateBudget
  readonly #retry: RetryPolicy
  readonly #onRateLimited: (policy: string) => void

  constructor(options: HubSpotClientOptions) {
    this.baseUrl = options.baseUrl.replace(/\/$/, '')
    this.#token = options.accessToken
    this.#budget = options.budget
    this.#retry = { maxAttempts: 5, deadlineMs: 30_000, requestTimeoutMs: 10_000, ...options.retry }
    this.#onRateLimited = options.onRateLimited ?? (() => undefined)
  }

  get budget(): RateBudget {
    return this.#budget
  }

  async request<T>(
    method: string,
    path: string,
    body: unknown,
    options: RequestOptions,
  ): Promise<{ status: number; body: T }> {
    const started = Date.now()
    for (let attempt = 1; ; attempt++) {
      const outcome = await this.#attempt(method, path, body, options)
      if (outcome.ok) return { status: outcome.status, body: outcome.body as T }
      const delay = outcome.retryable ? this.#retryDelay(outcome, attempt) : null
      if (
        delay === null ||
        attempt >= this.#retry.maxAttempts ||
        Date.now() - started + delay > this.#retry.deadlineMs
      ) {
        this.stats.failures += 1
        throw outcome.error
      }
      this.stats.retries += 1
      await sleep(delay)
    }
  }

  async #attempt(method: string, path: string, body: unknown, options: RequestOptions): Promise<Attempt> {
    let release: () => void
    try {
      const kind = options.kind ?? 'standard'
      const slot = takeHeldSlot(kind) ?? (await this.#budget.acquire(kind))
      let released = false
      release = () => {
        if (!released) slot()
        released = true
      }
    } catch (error) {
      if (error instanceof DailyLimitExhausted)
        return fail(new AppError('E_HUBSPOT_DAILY_LIMIT', error.message, { retryAfterSeconds: 3600 }), false)
      throw error
    }
    try {
      return await this.#send(method, path, body, options, release)
    } finally {
      release()
    }
  }

  /**
   * `answered` frees the budget slot as soon as the answer's headers are in: HubSpot counted the
   * request when it arrived, before it wrote a byte of the answer, so the body's transfer and
   * parsing need not hold the slot (a search page of 200 takes milliseconds of each).
   */
  async #send(
    method: string,
    path: string,
    body: unknown,
    options: RequestOptions,
    answered: () => void,
  ): Promise<Attempt> {
    this.stats.calls += 1
    let response: Response
    try {
      response = await fetch(this.baseUrl + path, {
        method,
        headers: {
          authorization: `Bearer ${this.#token}`,
          'content-type': 'application/json',
          accept: 'application/json',
        },
        body: body === undefined ? undefined : JSON.stringify(body),
        signal: AbortSignal.timeout(this.#retry.requestTimeoutMs),
      })
    } catch (cause) {
      // Refused connections never reached HubSpot; a timeout may have been applied there.
      const neverSent = (cause as { cause?: { code?: string } }).cause?.code === 'ECONNREFUSED'
      const error = new AppError('E_HUBSPOT_UNAVAILABLE', `HubSpot did not answer the ${describeCall(method, path)}`, {
        cause,
        retryAfterSeconds: 5,
        details: { operation: describeCall(method, path) },
      })
      return fail(error, neverSent || options.idempotent)
    }
    // Search answers carry no rate-limit headers; every other answer (errors too) states the account's limits.
    if (options.kind !== 'search') this.#budget.observe(parseRateLimitHeaders(response.headers))
    answered()
    const text = await response.text().catch(() => '')
    const parsed = parseJson(text)
    if (response.ok || options.accept?.includes(response.status))
      return { ok: true, status: response.status, body: parsed }
    return this.#failure(response, parsed, method, path, options)
  }

  #failure(
    response: Response,
    body: HubSpotErrorBody | null,
    method: string,
    path: string,
    options: RequestOptions,
  ): Attempt {
    const status = response.status
    // Clients are told what failed in words; the path (object type and record ids) is only logged, via the cause.
    const where = `the ${describeCall(method, path)}`
    const cause = new Error(`${method} ${path.split('?')[0]} answered ${status}`)
    if (status === 429) {
      this.stats.rateLimited += 1
      const policy =
        body?.policyName ??
        (body?.message === 'You have reached your secondly limit.' ? 'SECONDLY' : 'TEN_SECONDLY_ROLLING')
      this.#onRateLimited(policy)
      if (policy === 'DAILY')
        return fail(
          new AppError('E_HUBSPOT_DAILY_LIMIT', 'HubSpot daily limit reached', { retryAfterSeconds: 3600 }),
          false,
        )
      const error = new AppError(
        'E_HUBSPOT_RATE_LIMITED',
        `HubSpot rate limit (${policy}) on ${where}; try again shortly`,
        { retryAfterSeconds: 10, details: { policy }, cause },
      )
      return { ...fail(error, true), status, retryAfterMs: retryAfterMs(response, policy) }
    }
    if (RETRYABLE_STATUS.has(status)) {
      const error = new AppError('E_HUBSPOT_UNAVAILABLE', `HubSpot answered ${status} to ${where}`, {
        retryAfterSeconds: 5,
        details: { status },
        cause,
      })
      // 423 (locked) and 429 were refused before applying anything; a 5xx may have applied.
      return {
        ...fail(error, status === 423 || options.idempotent),
        status,
        retryAfterMs: status === 423 ? 2_000 : retryAfterMs(response, null),
      }
    }
    if (status === 400 && options.write && body?.category === 'VALIDATION_ERROR')
      return fail(validationFailure(body, where), false)
    const message = body?.message ?? `HubSpot answered ${status}`
    return fail(
      new AppError('E_HUBSPOT_REJECTED', `HubSpot rejected ${where}: ${message}`, {
        details: { status, category: body?.category },
        cause,
      }),
      false,
    )
  }

  #retryDelay(outcome: Failed, attempt: number): number {
    const jitter = Math.random() * 100
    if (outcome.retryAfterMs !== undefined) return outcome.retryAfterMs + jitter
    return Math.min(8_000, 250 * 2 ** (attempt - 1)) + jitter
  }
}

const ACTIONS: Record<string, string> = {
  GET: 'read',
  POST: 'create',
  PATCH: 'update',
  PUT: 'update',
  DELETE: 'archive',
}

/**
 * A call in words ("batch upsert", "search", "record update"), the same for /crm/v3/objects/... and
 * the date-versioned paths: what a client can act on, without object type ids or record ids.
 */
export function describeCall(method: string, path: string): string {
  const segments = path.split('?')[0].split('/').filter(Boolean)
  if (segments.some((s) => s.includes('schemas'))) return 'object schema lookup'
  if (segments.includes('associations')) return `association ${ACTIONS[method] ?? 'request'}`
  const batch = segments.indexOf('batch')
  if (batch >= 0 && segments[batch + 1]) return `batch ${segments[batch + 1].replace(/[^a-z]/gi, '')}`
  if (segments.includes('search')) return 'search'
  const objects = segments.indexOf('objects')
  if (objects >= 0) {
    // objects/<type> or objects/<version>/<type>, then an optional record id.
    const rest = segments.slice(objects + 1).filter((s) => !/^\d{4}-\d{2}$/.test(s) && s !== 'v3')
    if (rest.length >= 2) return `record ${ACTIONS[method] ?? 'request'}`
    return method === 'GET' ? 'list' : method === 'POST' ? 'create' : `${ACTIONS[method] ?? 'request'}`
  }
  return `${method} request`
}

interface HubSpotErrorBody {
  message?: string
  category?: string
  policyName?: string
  errors?: Array<{ message?: string; code?: string; name?: string; context?: Record<string, unknown> }>
}

/** The properties a VALIDATION_ERROR names: in `errors[].context.propertyName`, or the legacy JSON inside `message`. */
export function refusedProperties(body: HubSpotErrorBody): string[] {
  const names = new Set<string>()
  for (const error of body.errors ?? []) {
    const named = error.context?.propertyName
    for (const name of Array.isArray(named) ? named : [named]) if (typeof name === 'string' && name) names.add(name)
    if (typeof error.name === 'string' && error.name) names.add(error.name)
  }
  if (names.size === 0 && body.message) {
    const legacy = body.message.indexOf('[')
    try {
      const parsed = legacy >= 0 ? (JSON.parse(body.message.slice(legacy)) as unknown) : null
      if (Array.isArray(parsed))
        for (const item of parsed) {
          const name = (item as { name?: unknown } | null)?.name
          if (typeof name === 'string' && name) names.add(name)
        }
    } catch {
      // Not the legacy form: the message is passed on as it is.
    }
  }
  return [...names]
}

/** HubSpot's write validation (an account's required properties, since 2026-09) told plainly: a 422 naming the property. */
function validationFailure(body: HubSpotErrorBody, where: string): AppError {
  const properties = refusedProperties(body)
  const said = (body.errors?.find((e) => e.message)?.message ?? body.message ?? 'validation failed').slice(0, 300)
  const message = properties.length
    ? `HubSpot refused the write because of ${properties.join(', ')}: ${said}`
    : `HubSpot refused ${where}: ${said}`
  return new AppError('E_HUBSPOT_VALIDATION', message, {
    field: properties[0],
    details: { properties, category: 'VALIDATION_ERROR' },
  })
}

type Failed = { ok: false; error: AppError; retryable: boolean; status?: number; retryAfterMs?: number }
type Attempt = { ok: true; status: number; body: unknown } | Failed

function fail(error: AppError, retryable: boolean): Failed {
  return { ok: false, error, retryable }
}

function parseJson(text: string): HubSpotErrorBody | null {
  if (!text) return null
  try {
    return JSON.parse(text)
  } catch {
    return null
  }
}

/** Retry-After (seconds) when present; else the window the limit applies to. */
function retryAfterMs(response: Response, policy: string | null): number | undefined {
  const retryAfter = Number(response.headers.get('retry-after'))
  if (retryAfter > 0) return retryAfter * 1000
  if (policy === 'SECONDLY') return 1_000
  if (policy === 'TEN_SECONDLY_ROLLING') {
    const interval = Number(response.headers.get('x-hubspot-ratelimit-interval-milliseconds'))
    const remaining = Number(response.headers.get('x-hubspot-ratelimit-remaining'))
    // Remaining > 0 means the 429 came from elsewhere (another app): a short pause is enough.
    return remaining > 0 ? 1_000 : Math.min(interval || 10_000, 10_000) / 2
  }
  return undefined
}

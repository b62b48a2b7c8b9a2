// What a handler gets and returns: the parsed request, and the status and JSON body to send back.
import { validationError } from './errors.js'
import type { ObjectDef } from './schema.js'
import type { Store, WriteSource } from './store.js'
import type { ValidationRules } from './validation.js'

/**
 * The two path families HubSpot serves in 2026. `v3` is the legacy one (`/crm/v3/…` objects and
 * schemas, `/crm/v4/…` associations, unsupported from 2027); `2026-03` is date-versioned, GA on
 * 2026-03-30. Both run the same handlers over the same store, limits and error bodies. It lives
 * here, beside the request that carries it, so that routes.ts imports request.ts and not back.
 */
export type ApiFamily = 'v3' | '2026-03'

export type Query = Record<string, string[] | undefined>

export interface Ctx {
  store: Store
  now: number
  query: Query
  body: unknown
  /** the path segments captured by the route's `:params`, in order */
  params: string[]
  /** which path family the request came in on, for the few shapes that differ */
  family: ApiFamily
  /** the account's write-validation rules */
  validation: ValidationRules
  /** who the caller's token says is writing, for property history (server.ts writeSource) */
  source: WriteSource
  /** resolves an object type segment or throws HubSpot's 400 */
  objectType(segment: string): ObjectDef
}

export interface Reply {
  status: number
  body?: unknown
}

export function parseQuery(text: string): Query {
  // No prototype, so a `__proto__` or `constructor` parameter is just a parameter.
  const query: Query = Object.create(null) as Query
  if (!text) return query
  for (const part of text.split('&')) {
    if (!part) continue
    const eq = part.indexOf('=')
    const key = decode(eq < 0 ? part : part.slice(0, eq))
    const value = eq < 0 ? '' : decode(part.slice(eq + 1))
    ;(query[key] ??= []).push(value)
  }
  return query
}

function decode(text: string): string {
  try {
    return decodeURIComponent(text.replace(/\+/g, ' '))
  } catch {
    throw validationError(`Malformed query string near "${text.slice(0, 50)}"`)
  }
}

export function first(query: Query, name: string): string | undefined {
  return query[name]?.[0]
}

export function boolParam(query: Query, name: string): boolean {
  const raw = first(query, name)
  if (raw === undefined || raw === '' || raw === 'false') return false
  if (raw === 'true') return true
  throw validationError(`${name} must be true or false, got "${raw.slice(0, 50)}"`)
}

export function intQuery(query: Query, name: string, fallback: number, max: number): number {
  const raw = first(query, name)
  if (raw === undefined || raw === '') return fallback
  if (!/^\d+$/.test(raw) || Number(raw) < 1 || Number(raw) > max) {
    throw validationError(`${name} must be an integer from 1 to ${max}, got "${raw.slice(0, 50)}"`)
  }
  return Number(raw)
}

export function objectBody(body: unknown): Record<string, unknown> {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw validationError('Invalid input JSON: the request body must be a JSON object')
  }
  return body as Record<string, unknown>
}

export function idText(value: unknown, what = 'id'): string {
  if (typeof value === 'string' && value !== '') return value
  if (typeof value === 'number' && Number.isFinite(value)) return String(value)
  throw validationError(`Invalid input JSON: ${what} must be a non-empty string`)
}

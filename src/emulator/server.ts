// The HTTP server: auth, limits, faults and stats around the route handlers; every answer is JSON.
import { createHash, randomUUID } from 'node:crypto'
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import { HsError, rateLimitBody, unauthorized, validationError } from './errors.js'
import { Limiter, type LimitSettings } from './limits.js'
import { parseQuery, type Ctx, type Reply } from './request.js'
import type { ApiFamily } from './request.js'
import { buildRoutes, matchRoute, pathExists, type Route } from './routes.js'
import { objectTypeResolver, type ObjectDef } from './schema.js'
import type { Store, WriteSource } from './store.js'
import type { ValidationRules } from './validation.js'

export const MAX_BODY_BYTES = 10 * 1024 * 1024
/** Past this we stop draining an oversized upload and drop the connection. */
const MAX_DRAIN_BYTES = 64 * 1024 * 1024
const JSON_TYPE = 'application/json;charset=utf-8'

export interface Faults {
  latencyMs: number
  rate429: number
  rate5xx: number
  timeoutRate: number
  /** how long a "timed out" request is held before its socket is dropped */
  timeoutHoldMs: number
}

export const NO_FAULTS: Faults = { latencyMs: 0, rate429: 0, rate5xx: 0, timeoutRate: 0, timeoutHoldMs: 30_000 }

export interface EmulatorStats {
  total: number
  byRoute: Record<string, number>
  byStatus: Record<string, number>
  emulatorRoutes: number
  dailyUsed: number
  /** HubSpot calls per path family, so a run shows whether it spoke `2026-03` or legacy `v3` */
  byFamily: Record<ApiFamily, number>
}

export interface ServerDeps {
  store: Store
  validation: ValidationRules
  limits: LimitSettings
  token: string | null
  portalId: number
  /** the /_emulator/ routes, answered before auth, limits and faults */
  admin(method: string, path: string, body: unknown): Reply | Promise<Reply> | null
  /** The address it listens on: requests naming another Host are refused (DNS rebinding). */
  host?: string
}

export class EmulatorServer {
  readonly server: Server
  readonly limiter: Limiter
  faults: Faults = { ...NO_FAULTS }
  stats: EmulatorStats = freshStats()
  readonly #routes: Map<string, Route[]>
  readonly #resolve: (segment: string) => ObjectDef | undefined
  readonly #held = new Set<ServerResponse>()

  readonly #deps: ServerDeps

  constructor(deps: ServerDeps) {
    this.#deps = deps
    this.limiter = new Limiter(deps.limits)
    this.#resolve = objectTypeResolver(deps.portalId)
    this.#routes = buildRoutes(deps.portalId, { usage: () => this.#usage() })
    this.server = createServer({ keepAliveTimeout: 65_000 }, (req, res) => this.#handle(req, res))
  }

  resetStats(): void {
    this.stats = freshStats()
  }

  #usage(): Reply {
    const { dailyUsed, dailyLimit, resetsAt } = this.limiter.usage(Date.now())
    return {
      status: 200,
      body: {
        results: [
          {
            name: 'private-apps-api-calls-daily',
            usageLimit: dailyLimit,
            currentUsage: dailyUsed,
            collectedAt: new Date().toISOString(),
            fetchStatus: 'SUCCESS',
            resetsAt: new Date(resetsAt).toISOString(),
          },
        ],
      },
    }
  }

  #objectType = (segment: string): ObjectDef => {
    const def = this.#resolve(segment)
    if (!def) throw validationError(`Unable to infer object type from: ${segment}`)
    return def
  }

  #handle(req: IncomingMessage, res: ServerResponse): void {
    if (!hostAllowed(req.headers.host, this.#deps.host ?? '127.0.0.1'))
      return this.#drainThen(req, () =>
        this.#writeAdmin(res, 403, new HsError(403, null, 'this emulator does not answer for that Host').body()),
      )
    const url = req.url ?? '/'
    const q = url.indexOf('?')
    let path = q < 0 ? url : url.slice(0, q)
    if (path.length > 1 && path.endsWith('/')) path = path.slice(0, -1)
    if (path.startsWith('/_emulator/')) return this.#handleAdmin(req, res, path)
    const method = req.method ?? 'GET'
    const parts = path.split('/')
    const params: string[] = []
    const route = matchRoute(this.#routes.get(method), parts, params)
    this.stats.total++
    const key = route ? route.statKey : `${method} (unmatched)`
    this.stats.byRoute[key] = (this.stats.byRoute[key] ?? 0) + 1
    if (route) this.stats.byFamily[route.family] += 1
    const token = bearer(req.headers.authorization)
    if (token === null || (this.#deps.token !== null && token !== this.#deps.token)) {
      return this.#drainThen(req, () => this.#send(res, unauthorized(), null))
    }
    if (!route) {
      const error = pathExists(this.#routes, parts)
        ? new HsError(405, null, `HTTP ${method} is not supported by this endpoint`)
        : new HsError(404, null, 'resource not found')
      return this.#drainThen(req, () => this.#send(res, error, token))
    }
    const queryText = q < 0 ? '' : url.slice(q + 1)
    const go = (): void => this.#proceed(req, res, route, params, queryText, token)
    if (this.faults.latencyMs > 0) setTimeout(go, this.faults.latencyMs)
    else go()
  }

  /** Faults are decided before anything runs, so an injected failure never applies a write. */
  #proceed(
    req: IncomingMessage,
    res: ServerResponse,
    route: Route,
    params: string[],
    queryText: string,
    token: string,
  ): void {
    if (res.destroyed) return
    const headerToken = route.kind === 'search' ? null : token
    if (this.#rollFault(req, res, headerToken)) return
    const policy = this.limiter.take(token, route.kind, Date.now())
    if (policy) {
      return this.#drainThen(req, () =>
        this.#sendJson(res, 429, rateLimitBody(policy, this.#deps.portalId), headerToken),
      )
    }
    const run = (body: unknown): void => this.#run(res, route, params, queryText, body, headerToken)
    if (hasNoBody(req)) run(undefined)
    else this.#readBody(req, res, headerToken, run)
  }

  #run(
    res: ServerResponse,
    route: Route,
    params: string[],
    queryText: string,
    body: unknown,
    token: string | null,
  ): void {
    let reply: Reply | HsError
    try {
      const ctx: Ctx = {
        store: this.#deps.store,
        validation: this.#deps.validation,
        now: Date.now(),
        query: parseQuery(queryText),
        body,
        params: params.map(decodeParam),
        family: route.family,
        objectType: this.#objectType,
        source: writeSource(token),
      }
      reply = route.handler(ctx)
    } catch (error) {
      reply = error instanceof HsError ? error : internal(error)
    }
    this.#send(res, reply, token)
  }

  #rollFault(req: IncomingMessage, res: ServerResponse, token: string | null): boolean {
    const f = this.faults
    if (f.timeoutRate > 0 && Math.random() < f.timeoutRate) {
      this.#hold(req, res)
      return true
    }
    if (f.rate5xx > 0 && Math.random() < f.rate5xx) {
      const status = Math.random() < 0.5 ? 502 : 503
      const message = status === 502 ? 'Bad Gateway' : 'Service Unavailable'
      this.#drainThen(req, () =>
        this.#sendJson(
          res,
          status,
          { status: 'error', message, correlationId: randomUUID(), category: 'INTERNAL_ERROR' },
          token,
        ),
      )
      return true
    }
    if (f.rate429 > 0 && Math.random() < f.rate429) {
      this.#drainThen(req, () =>
        this.#sendJson(res, 429, rateLimitBody('TEN_SECONDLY_ROLLING', this.#deps.portalId), token),
      )
      return true
    }
    return false
  }

  #hold(req: IncomingMessage, res: ServerResponse): void {
    this.#held.add(res)
    req.resume()
    const timer = setTimeout(() => res.destroy(), this.faults.timeoutHoldMs)
    res.on('close', () => {
      clearTimeout(timer)
      this.#held.delete(res)
    })
  }

  #readBody(req: IncomingMessage, res: ServerResponse, token: string | null, run: (body: unknown) => void): void {
    const declared = Number(req.headers['content-length'] ?? 0)
    const chunks: Buffer[] = []
    let size = 0
    let tooLarge = declared > MAX_BODY_BYTES
    req.on('data', (chunk: Buffer) => {
      size += chunk.length
      if (size > MAX_BODY_BYTES) tooLarge = true
      if (!tooLarge) chunks.push(chunk)
      else if (size > MAX_DRAIN_BYTES) req.destroy()
    })
    req.on('error', () => res.destroy())
    req.on('end', () => {
      if (tooLarge) return this.#send(res, tooLargeError(), token)
      const text = Buffer.concat(chunks).toString('utf8')
      if (text.trim() === '') return run(undefined)
      const type = String(req.headers['content-type'] ?? '')
      if (!/^application\/(.+\+)?json\b/i.test(type)) {
        return this.#send(
          res,
          new HsError(
            415,
            'VALIDATION_ERROR',
            `Unsupported media type: "${type.slice(0, 100)}"; send application/json`,
          ),
          token,
        )
      }
      let body: unknown
      try {
        body = JSON.parse(text)
      } catch (error) {
        return this.#send(res, validationError(`Invalid input JSON: ${(error as Error).message.slice(0, 200)}`), token)
      }
      run(body)
    })
  }

  #drainThen(req: IncomingMessage, then: () => void): void {
    if (hasNoBody(req) || req.readableEnded) return then()
    let size = 0
    req.on('data', (chunk: Buffer) => {
      size += chunk.length
      if (size > MAX_DRAIN_BYTES) req.destroy()
    })
    req.on('end', then)
    req.resume()
  }

  #send(res: ServerResponse, reply: Reply | HsError, token: string | null): void {
    if (reply instanceof HsError) this.#sendJson(res, reply.status, reply.body(), token)
    else this.#sendJson(res, reply.status, reply.body, token)
  }

  #sendJson(res: ServerResponse, status: number, body: unknown, token: string | null): void {
    if (res.headersSent || res.destroyed) return
    this.stats.byStatus[status] = (this.stats.byStatus[status] ?? 0) + 1
    const headers = ['Content-Type', JSON_TYPE, 'X-HubSpot-Correlation-Id', randomUUID()]
    if (token !== null) this.limiter.pushHeaders(headers, token, Date.now())
    if (body === undefined || status === 204) {
      res.writeHead(status, headers)
      res.end()
      return
    }
    const text = JSON.stringify(body)
    headers.push('Content-Length', String(Buffer.byteLength(text)))
    res.writeHead(status, headers)
    res.end(text)
  }

  /**
   * The admin routes reset and reseed the portal: with --token they need it like every route; a
   * page in a browser is refused by its Origin, and bodies must be JSON (no text/plain form posts).
   */
  #handleAdmin(req: IncomingMessage, res: ServerResponse, path: string): void {
    this.stats.emulatorRoutes++
    const refuse = (error: HsError) => this.#drainThen(req, () => this.#writeAdmin(res, error.status, error.body()))
    if (this.#deps.token !== null && bearer(req.headers.authorization) !== this.#deps.token)
      return refuse(unauthorized())
    const origin = req.headers.origin
    if (origin !== undefined && !originAllowed(origin, this.#deps.host ?? '127.0.0.1'))
      return refuse(new HsError(403, null, 'the emulator admin routes do not answer pages of other origins'))
    const fail = (error: unknown) => {
      const e = error instanceof HsError ? error : internal(error)
      this.#writeAdmin(res, e.status, e.body())
    }
    const respond = (body: unknown): void => {
      let reply: Reply | Promise<Reply> | null
      try {
        reply = this.#deps.admin(req.method ?? 'GET', path, body)
      } catch (error) {
        return fail(error)
      }
      if (!reply) return this.#writeAdmin(res, 404, new HsError(404, null, 'resource not found').body())
      Promise.resolve(reply).then((done) => this.#writeAdmin(res, done.status, done.body), fail)
    }
    if (hasNoBody(req)) return respond(undefined)
    const type = String(req.headers['content-type'] ?? '')
    if (!/^application\/(.+\+)?json\b/i.test(type))
      return refuse(
        new HsError(415, 'VALIDATION_ERROR', `Unsupported media type: "${type.slice(0, 100)}"; send application/json`),
      )
    const chunks: Buffer[] = []
    let size = 0
    req.on('data', (c: Buffer) => {
      size += c.length
      if (size <= MAX_BODY_BYTES) chunks.push(c)
    })
    req.on('end', () => {
      if (size > MAX_BODY_BYTES) return this.#writeAdmin(res, 413, tooLargeError().body())
      const text = Buffer.concat(chunks).toString('utf8').trim()
      if (!text) return respond(undefined)
      try {
        respond(JSON.parse(text))
      } catch (error) {
        this.#writeAdmin(res, 400, validationError(`Invalid input JSON: ${(error as Error).message}`).body())
      }
    })
  }

  #writeAdmin(res: ServerResponse, status: number, body: unknown): void {
    const text = body === undefined ? '' : JSON.stringify(body)
    res.writeHead(status, { 'Content-Type': JSON_TYPE, 'Content-Length': Buffer.byteLength(text) })
    res.end(text)
  }

  /** Drops held ("timed out") requests so that closing does not wait for them. */
  dropHeld(): void {
    for (const res of this.#held) res.destroy()
    this.#held.clear()
  }
}

function freshStats(): EmulatorStats {
  return { total: 0, byRoute: {}, byStatus: {}, emulatorRoutes: 0, dailyUsed: 0, byFamily: { '2026-03': 0, v3: 0 } }
}

function bearer(header: string | undefined): string | null {
  if (!header || header.length < 8 || header.slice(0, 7).toLowerCase() !== 'bearer ') return null
  const token = header.slice(7).trim()
  return token ? token : null
}

const LOOPBACK = new Set(['localhost', '127.0.0.1', '::1'])

/** The Host header's name (port and IPv6 brackets removed), lower-cased. */
function hostName(header: string): string {
  const trimmed = header.trim().toLowerCase()
  if (trimmed.startsWith('[')) return trimmed.slice(1, trimmed.indexOf(']'))
  const colon = trimmed.lastIndexOf(':')
  return colon > 0 && trimmed.indexOf(':') === colon ? trimmed.slice(0, colon) : trimmed
}

/** A wildcard bind answers any name; a loopback bind answers loopback names; else only the bound one. */
function hostAllowed(header: string | undefined, bound: string): boolean {
  if (header === undefined || bound === '0.0.0.0' || bound === '::') return true
  const name = hostName(header)
  if (LOOPBACK.has(bound.toLowerCase())) return LOOPBACK.has(name)
  return name === bound.toLowerCase()
}

function originAllowed(origin: string, bound: string): boolean {
  try {
    return hostAllowed(new URL(origin).host, bound)
  } catch {
    return false
  }
}

function hasNoBody(req: IncomingMessage): boolean {
  return (
    (req.headers['content-length'] === undefined && req.headers['transfer-encoding'] === undefined) ||
    req.headers['content-length'] === '0'
  )
}

function decodeParam(segment: string): string {
  if (!segment.includes('%')) return segment
  try {
    return decodeURIComponent(segment)
  } catch {
    throw validationError(`Malformed path segment: ${segment.slice(0, 50)}`)
  }
}

function tooLargeError(): HsError {
  return new HsError(413, 'VALIDATION_ERROR', `Request body is larger than ${MAX_BODY_BYTES} bytes`)
}

function internal(error: unknown): HsError {
  return new HsError(500, 'INTERNAL_ERROR', `Internal error: ${(error as Error)?.message ?? String(error)}`)
}

/**
 * Who a write's property versions name, from the caller's token: `user-<digits>` stands for a
 * person in HubSpot's screens (sourceType CRM_UI, updatedByUserId), any other token for a private
 * app (sourceType INTEGRATION, sourceId a stable digest of the token, never the token itself).
 */
function writeSource(token: string | null): WriteSource {
  const key = token ?? ''
  let source = sources.get(key)
  if (!source) {
    if (sources.size >= 1_000) sources.clear()
    sources.set(key, (source = sourceOf(key)))
  }
  return source
}

/** Sources by token: one digest per caller, not per request. */
const sources = new Map<string, WriteSource>()

function sourceOf(token: string): WriteSource {
  const user = /^user-(\d{1,15})$/.exec(token)
  if (user) return { sourceType: 'CRM_UI', updatedByUserId: Number(user[1]) }
  return { sourceType: 'INTEGRATION', sourceId: createHash('sha256').update(token).digest('hex').slice(0, 8) }
}

// Bearer-token authentication and per-route permissions for /api and /graphql.
import type { FastifyInstance, FastifyRequest } from 'fastify'
import { AppError } from '../errors.js'
import { verifyToken, type Permission, type VerifyResult } from './jwt.js'

declare module 'fastify' {
  interface FastifyContextConfig {
    /** The permission a route requires; every /api route must name one. */
    permission?: Permission
    /** The handler checks the token itself (graphql-ws sends it in connectionParams, after the upgrade). */
    deferAuth?: boolean
  }
  interface FastifyRequest {
    permissions?: Set<string>
  }
  interface FastifyInstance {
    /** Every route behind auth, with the permission it needs (for tests and docs). */
    guardedRoutes: GuardedRoute[]
    /** Verifies a token that came some other way than the request (e.g. a WebSocket message); throws 401/403. */
    checkToken(token: string | null, permission: Permission): Set<string>
  }
}

export interface GuardedRoute {
  method: string
  url: string
  permission: Permission
}

/** Browsers' EventSource and WebSocket cannot set headers, so streams also take ?access_token=. */
export function bearerToken(request: FastifyRequest): string | null {
  const header = request.headers.authorization
  if (header) {
    const match = /^Bearer\s+(\S+)$/i.exec(header)
    return match ? match[1] : null
  }
  const query = request.query as Record<string, unknown> | undefined
  const fromQuery = query?.access_token
  return typeof fromQuery === 'string' && fromQuery ? fromQuery : null
}

const VERIFIED_CACHE_SIZE = 10_000

/**
 * Remembers tokens whose signature checked out, until they expire: an HMAC per request was a
 * fifth of the CPU of a cached read (bench/read-path). Only verified tokens enter, keyed by the
 * whole token, so a forged one is still checked (and refused) every time.
 */
export class TokenVerifier {
  readonly #verified = new Map<string, { permissions: Set<string>; expiresAt: number }>()
  readonly #secret: string

  constructor(secret: string) {
    this.#secret = secret
  }

  verify(token: string): VerifyResult {
    const now = Date.now()
    const known = this.#verified.get(token)
    if (known && known.expiresAt > now) return { ok: true, claims: {}, permissions: known.permissions }
    const result = verifyToken(this.#secret, token, now / 1000)
    if (!result.ok) return result
    if (this.#verified.size >= VERIFIED_CACHE_SIZE) this.#verified.delete(this.#verified.keys().next().value as string)
    // A token without exp is checked again after a minute rather than trusted forever.
    this.#verified.set(token, {
      permissions: result.permissions,
      expiresAt: typeof result.claims.exp === 'number' ? result.claims.exp * 1000 : now + 60_000,
    })
    return result
  }
}

export function checkToken(verifier: TokenVerifier, token: string | null, permission: Permission): Set<string> {
  if (!token) throw new AppError('E_UNAUTHORIZED', 'missing bearer token')
  const result = verifier.verify(token)
  if (!result.ok) throw new AppError('E_UNAUTHORIZED', result.reason)
  if (!result.permissions.has(permission))
    throw new AppError('E_FORBIDDEN', `this token lacks the "${permission}" permission`)
  return result.permissions
}

export function authenticate(verifier: TokenVerifier, request: FastifyRequest, permission: Permission): void {
  request.permissions = checkToken(verifier, bearerToken(request), permission)
}

export function registerAuth(app: FastifyInstance, secret: string): TokenVerifier {
  const verifier = new TokenVerifier(secret)
  const guardedRoutes: GuardedRoute[] = []
  app.decorate('guardedRoutes', guardedRoutes)
  app.decorate('checkToken', (token: string | null, permission: Permission) => checkToken(verifier, token, permission))
  app.addHook('onRoute', (route) => {
    const guarded = route.url.startsWith('/api') || route.url.startsWith('/graphql')
    if (!guarded) return
    const permission = route.config?.permission
    if (!permission) throw new Error(`route ${route.method} ${route.url} declares no permission`)
    for (const method of [route.method].flat())
      if (method !== 'HEAD') guardedRoutes.push({ method, url: route.url, permission })
  })
  // onRequest runs before the body is read, so an unauthenticated caller costs no parsing.
  app.addHook('onRequest', async (request) => {
    const { permission, deferAuth } = request.routeOptions.config ?? {}
    if (permission && !deferAuth) authenticate(verifier, request, permission)
  })
  return verifier
}

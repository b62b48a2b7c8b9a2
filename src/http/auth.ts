// Bearer-token authentication and per-route permissions for /api and /graphql.
import type { FastifyInstance, FastifyRequest } from 'fastify'
import type { Config } from '../config/index.js'
import { AppError } from '../errors.js'
import type { Permission } from './jwt.js'
import { TokenVerifier, type VerifiedToken } from './token-verifier.js'

declare module 'fastify' {
  interface FastifyContextConfig {
    /** The permission a route requires; every /api route must name one. */
    permission?: Permission
    /** The handler checks the token itself (graphql-ws sends it in connectionParams, after the upgrade). */
    deferAuth?: boolean
    /** A stream route the contract lets take `?access_token=` (EventSource and WebSocket cannot set headers). */
    queryToken?: boolean
    /** No token at all: allowed only for the routes in PUBLIC_ROUTES below. */
    public?: boolean
  }
  interface FastifyRequest {
    permissions?: ReadonlySet<string>
    /** The verified token of this request: streams end when it expires. */
    verifiedToken?: VerifiedToken
  }
  interface FastifyInstance {
    /** Every route behind auth, with the permission it needs (for tests and docs). */
    guardedRoutes: GuardedRoute[]
    /** The /api routes that take no token (each one listed in PUBLIC_ROUTES). */
    publicRoutes: string[]
    /** Verifies a token that came some other way than the request (e.g. a WebSocket message); throws 401/403. */
    checkToken(token: string | null, permission: Permission): Promise<VerifiedToken>
  }
}

/**
 * The deliberate list of /api routes anyone may call without a token: the sign-in code exchange (the
 * code is the credential), and the seats-left routes (read-only, counts only, no student or booking
 * field: a test reads every frame). A route that marks itself `public` and is
 * not listed here fails at registration, so a new hole cannot be opened by a route's config alone.
 */
export const PUBLIC_ROUTES: ReadonlySet<string> = new Set([
  // How a sign-in link's one-time code becomes a token: the code is the credential.
  'POST /api/auth/exchange',
  'GET /api/public/exams/:id/seats',
  'GET /api/public/exams/:id/seats/events',
])

export interface GuardedRoute {
  method: string
  url: string
  permission: Permission
  /** Whether `?access_token=` is accepted. */
  queryToken: boolean
}

/**
 * The Authorization header's token; `?access_token=` only on the stream routes that declare
 * `queryToken` (a token in a URL ends up in logs and history, so nowhere it is not needed).
 */
export function bearerToken(request: FastifyRequest): string | null {
  const header = request.headers.authorization
  if (header) {
    const match = /^Bearer\s+(\S+)$/i.exec(header)
    return match ? match[1] : null
  }
  if (!request.routeOptions.config?.queryToken) return null
  const query = request.query as Record<string, unknown> | undefined
  const fromQuery = query?.access_token
  return typeof fromQuery === 'string' && fromQuery ? fromQuery : null
}

/** The verified token of a route behind auth (onRequest put it there before the handler runs). */
export function verifiedToken(request: FastifyRequest): VerifiedToken {
  if (!request.verifiedToken) throw new AppError('E_UNAUTHORIZED', 'missing bearer token')
  return request.verifiedToken
}

function requireToken(token: string | null): string {
  if (!token) throw new AppError('E_UNAUTHORIZED', 'missing bearer token')
  return token
}

function requirePermission(verified: VerifiedToken, permission: Permission): VerifiedToken {
  if (!verified.permissions.has(permission))
    throw new AppError('E_FORBIDDEN', `this token lacks the "${permission}" permission`)
  return verified
}

export async function checkToken(
  verifier: TokenVerifier,
  token: string | null,
  permission: Permission,
): Promise<VerifiedToken> {
  return requirePermission(await verifier.verify(requireToken(token)), permission)
}

export function registerAuth(app: FastifyInstance, config: Config): TokenVerifier {
  const verifier = new TokenVerifier({
    secret: config.jwtSecret,
    jwks: config.jwks,
    claims: config.jwtClaims,
    log: app.log,
  })
  const guardedRoutes: GuardedRoute[] = []
  app.decorate('guardedRoutes', guardedRoutes)
  const publicRoutes: string[] = []
  app.decorate('publicRoutes', publicRoutes)
  app.decorate('checkToken', (token: string | null, permission: Permission) => checkToken(verifier, token, permission))
  app.addHook('onRoute', (route) => {
    const permission = route.config?.permission
    // /metrics (outside /api) is guarded too, by the permission it declares.
    const guarded = route.url.startsWith('/api') || route.url.startsWith('/graphql') || permission !== undefined
    if (!guarded) return
    if (route.config?.public) {
      for (const method of [route.method].flat()) {
        if (method === 'HEAD') continue
        if (permission || !PUBLIC_ROUTES.has(`${method} ${route.url}`))
          throw new Error(
            `route ${method} ${route.url} is marked public but is not in PUBLIC_ROUTES (or names a permission)`,
          )
        publicRoutes.push(`${method} ${route.url}`)
      }
      return
    }
    if (!permission) throw new Error(`route ${route.method} ${route.url} declares no permission`)
    const queryToken = route.config?.queryToken === true
    for (const method of [route.method].flat())
      if (method !== 'HEAD') guardedRoutes.push({ method, url: route.url, permission, queryToken })
  })
  // onRequest runs before the body is read, so an unauthenticated caller costs no parsing. A token
  // seen before is answered synchronously: the read path's hit costs no extra promise.
  app.addHook('onRequest', (request, _reply, done) => {
    const { permission, deferAuth } = request.routeOptions.config ?? {}
    if (!permission || deferAuth) return done()
    const accept = (verified: VerifiedToken) => {
      requirePermission(verified, permission)
      request.verifiedToken = verified
      request.permissions = verified.permissions
    }
    try {
      const token = requireToken(bearerToken(request))
      const known = verifier.cached(token)
      if (known) {
        accept(known)
        return done()
      }
      verifier.verify(token).then(
        (verified) => {
          try {
            accept(verified)
            done()
          } catch (error) {
            done(error as Error)
          }
        },
        (error: Error) => done(error),
      )
    } catch (error) {
      done(error as Error)
    }
  })
  return verifier
}

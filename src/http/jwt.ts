// hubmirror's own HS256 tokens (the CLI's and `npm start`'s sign-in link) and the permissions a token grants.
import { createHmac } from 'node:crypto'

export const PERMISSIONS = ['exams.view', 'exams.edit', 'bookings.edit', 'sync.run', 'metrics.read'] as const
export type Permission = (typeof PERMISSIONS)[number]

/** `iss` and `aud` of the tokens hubmirror signs itself, so they are never mistaken for anyone else's. */
export const OWN_ISSUER = 'hubmirror'
export const OWN_AUDIENCE = 'hubmirror'

export interface TokenClaims {
  sub?: string
  iss?: string
  aud?: string | string[]
  exp?: number
  nbf?: number
  iat?: number
  permissions?: unknown
  app_metadata?: { permissions?: unknown; [key: string]: unknown }
  [claim: string]: unknown
}

const HEADER = Buffer.from(JSON.stringify({ alg: 'HS256', typ: 'JWT' })).toString('base64url')

/**
 * Signs synchronously (tests and the CLI sign many); verification is jose's, in token-verifier.ts.
 * The claims are signed as given: issueToken adds the ones the verifier requires.
 */
export function signToken(secret: string, claims: TokenClaims): string {
  const payload = Buffer.from(JSON.stringify(claims)).toString('base64url')
  const signature = createHmac('sha256', secret).update(`${HEADER}.${payload}`).digest('base64url')
  return `${HEADER}.${payload}.${signature}`
}

/** The grants of a token: our `permissions` claim, or Supabase's `app_metadata.permissions` (admin-set). */
export function grantedPermissions(claims: TokenClaims): Set<string> {
  const direct = Array.isArray(claims.permissions) ? claims.permissions : []
  const nested = Array.isArray(claims.app_metadata?.permissions) ? claims.app_metadata.permissions : []
  return new Set([...direct, ...nested].filter((p): p is string => typeof p === 'string'))
}

export function issueToken(
  secret: string,
  permissions: readonly string[],
  options: { subject?: string; ttlSeconds?: number } = {},
): string {
  const now = Math.floor(Date.now() / 1000)
  return signToken(secret, {
    iss: OWN_ISSUER,
    aud: OWN_AUDIENCE,
    sub: options.subject ?? 'admin',
    iat: now,
    exp: now + (options.ttlSeconds ?? 7 * 24 * 3600),
    permissions: [...permissions],
  })
}

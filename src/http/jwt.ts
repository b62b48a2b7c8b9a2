// HS256 JSON Web Tokens: signing, and verification that rejects forged, malformed and expired tokens.
import { createHmac, timingSafeEqual } from 'node:crypto'

export const PERMISSIONS = ['exams.view', 'exams.edit', 'bookings.edit', 'sync.run'] as const
export type Permission = (typeof PERMISSIONS)[number]

export interface TokenClaims {
  sub?: string
  exp?: number
  nbf?: number
  iat?: number
  permissions?: unknown
  app_metadata?: { permissions?: unknown; [key: string]: unknown }
  [claim: string]: unknown
}

export type VerifyResult = { ok: true; claims: TokenClaims; permissions: Set<string> } | { ok: false; reason: string }

const HEADER = Buffer.from(JSON.stringify({ alg: 'HS256', typ: 'JWT' })).toString('base64url')

function signature(secret: string, signingInput: string): Buffer {
  return createHmac('sha256', secret).update(signingInput).digest()
}

export function signToken(secret: string, claims: TokenClaims): string {
  const payload = Buffer.from(JSON.stringify(claims)).toString('base64url')
  return `${HEADER}.${payload}.${signature(secret, `${HEADER}.${payload}`).toString('base64url')}`
}

function decodeJson(part: string): Record<string, unknown> | null {
  try {
    const value = JSON.parse(Buffer.from(part, 'base64url').toString('utf8'))
    return value && typeof value === 'object' && !Array.isArray(value) ? value : null
  } catch {
    return null
  }
}

/** The grants of a token: our `permissions` claim, or Supabase's `app_metadata.permissions`. */
function grantedPermissions(claims: TokenClaims): Set<string> {
  const direct = Array.isArray(claims.permissions) ? claims.permissions : []
  const nested = Array.isArray(claims.app_metadata?.permissions) ? claims.app_metadata.permissions : []
  return new Set([...direct, ...nested].filter((p): p is string => typeof p === 'string'))
}

export function verifyToken(secret: string, token: string, nowSeconds = Date.now() / 1000): VerifyResult {
  const parts = token.split('.')
  if (parts.length !== 3) return { ok: false, reason: 'malformed token' }
  const header = decodeJson(parts[0])
  if (!header || header.alg !== 'HS256') return { ok: false, reason: 'unsupported token algorithm' }
  const expected = signature(secret, `${parts[0]}.${parts[1]}`)
  const given = Buffer.from(parts[2], 'base64url')
  if (given.length !== expected.length || !timingSafeEqual(given, expected))
    return { ok: false, reason: 'invalid token signature' }
  const claims = decodeJson(parts[1]) as TokenClaims | null
  if (!claims) return { ok: false, reason: 'malformed token payload' }
  if (claims.exp !== undefined && (typeof claims.exp !== 'number' || claims.exp <= nowSeconds))
    return { ok: false, reason: 'token expired' }
  if (claims.nbf !== undefined && (typeof claims.nbf !== 'number' || claims.nbf > nowSeconds + 30))
    return { ok: false, reason: 'token not yet valid' }
  return { ok: true, claims, permissions: grantedPermissions(claims) }
}

export function issueToken(
  secret: string,
  permissions: readonly string[],
  options: { subject?: string; ttlSeconds?: number } = {},
): string {
  const now = Math.floor(Date.now() / 1000)
  return signToken(secret, {
    sub: options.subject ?? 'admin',
    iat: now,
    exp: now + (options.ttlSeconds ?? 7 * 24 * 3600),
    permissions: [...permissions],
  })
}

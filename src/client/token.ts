// Reading a JWT's payload without verifying it: enough for a UI to decide which buttons to show.
import type { Permission } from './types.js'

export interface TokenPayload {
  sub?: string
  exp?: number
  iat?: number
  permissions?: string[]
  app_metadata?: { permissions?: string[] }
  [claim: string]: unknown
}

/** The payload, or null when the text is not a JWT. The server still checks every request. */
export function decodeTokenPayload(token: string): TokenPayload | null {
  const part = token.split('.')[1]
  if (!part) return null
  try {
    const b64 = part
      .replace(/-/g, '+')
      .replace(/_/g, '/')
      .padEnd(Math.ceil(part.length / 4) * 4, '=')
    const bytes = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0))
    const payload: unknown = JSON.parse(new TextDecoder().decode(bytes))
    return typeof payload === 'object' && payload !== null ? (payload as TokenPayload) : null
  } catch {
    return null
  }
}

/** The `permissions` claim (or Supabase-style `app_metadata.permissions`). */
export function tokenPermissions(payload: TokenPayload | null): Set<Permission> {
  const list = payload?.permissions ?? payload?.app_metadata?.permissions ?? []
  return new Set((Array.isArray(list) ? list : []).filter((p): p is Permission => typeof p === 'string'))
}

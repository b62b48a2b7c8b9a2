// Unit tests of HS256 tokens: round trip, tampering, expiry, algorithm confusion, Supabase claims.
import { describe, expect, it } from 'vitest'
import { issueToken, signToken, verifyToken } from './jwt.js'

const secret = 'unit-test-secret-unit-test-secret'

describe('jwt', () => {
  it('verifies what it signs and reads the permissions', () => {
    const result = verifyToken(secret, issueToken(secret, ['exams.view', 'sync.run']))
    expect(result.ok && [...result.permissions]).toEqual(['exams.view', 'sync.run'])
  })

  it('rejects a tampered payload, another secret, and alg none', () => {
    const token = issueToken(secret, ['exams.view'])
    const [header, , signature] = token.split('.')
    const forgedPayload = Buffer.from(JSON.stringify({ permissions: ['exams.edit'] })).toString('base64url')
    expect(verifyToken(secret, `${header}.${forgedPayload}.${signature}`).ok).toBe(false)
    expect(verifyToken('another-secret-another-secret', token).ok).toBe(false)
    const none = Buffer.from('{"alg":"none","typ":"JWT"}').toString('base64url')
    expect(verifyToken(secret, `${none}.${forgedPayload}.`)).toEqual({
      ok: false,
      reason: 'unsupported token algorithm',
    })
  })

  it('rejects an expired token and a token not yet valid', () => {
    const now = Math.floor(Date.now() / 1000)
    expect(verifyToken(secret, signToken(secret, { exp: now - 1 }))).toEqual({ ok: false, reason: 'token expired' })
    expect(verifyToken(secret, signToken(secret, { nbf: now + 3600 }))).toEqual({
      ok: false,
      reason: 'token not yet valid',
    })
  })

  it('reads Supabase app_metadata.permissions and ignores non-strings', () => {
    const result = verifyToken(
      secret,
      signToken(secret, { role: 'authenticated', app_metadata: { permissions: ['bookings.edit', 42] } }),
    )
    expect(result.ok && [...result.permissions]).toEqual(['bookings.edit'])
  })
})

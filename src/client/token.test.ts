// Tests for reading a JWT payload (base64url, unverified) and its permissions claim.
import { describe, expect, it } from 'vitest'
import { decodeTokenPayload, tokenPermissions } from './token.js'

const b64url = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url')
const jwt = (payload: unknown) => `${b64url({ alg: 'HS256', typ: 'JWT' })}.${b64url(payload)}.signature`

describe('decodeTokenPayload', () => {
  it('decodes base64url payloads, including UTF-8 and unpadded lengths', () => {
    const payload = { sub: 'zoë', exp: 2_000_000_000, permissions: ['exams.view', 'sync.run'], n: '?>?' }
    expect(decodeTokenPayload(jwt(payload))).toEqual(payload)
    expect([...tokenPermissions(decodeTokenPayload(jwt(payload)))]).toEqual(['exams.view', 'sync.run'])
  })

  it('reads Supabase-style app_metadata.permissions', () => {
    const payload = decodeTokenPayload(jwt({ app_metadata: { permissions: ['bookings.edit'] } }))
    expect(tokenPermissions(payload).has('bookings.edit')).toBe(true)
  })

  it('returns null for text that is not a JWT', () => {
    expect(decodeTokenPayload('nope')).toBeNull()
    expect(decodeTokenPayload('a.!!!.c')).toBeNull()
    expect(decodeTokenPayload(`x.${Buffer.from('"str"').toString('base64url')}.y`)).toBeNull()
    expect(tokenPermissions(null).size).toBe(0)
  })
})

// Who a verified token speaks for, worked out once at verification: its subject and the caller key limits use.
import { describe, expect, it } from 'vitest'
import { issueToken, OWN_AUDIENCE, OWN_ISSUER, signToken } from './jwt.js'
import { TokenVerifier } from './token-verifier.js'

const secret = 'test-secret-test-secret-test-secret'
const silent = { warn: () => undefined, info: () => undefined, error: () => undefined }

function verifier(): TokenVerifier {
  return new TokenVerifier({
    secret,
    jwks: null,
    claims: { issuer: OWN_ISSUER, audience: OWN_AUDIENCE },
    log: silent as never,
  })
}

describe('the verified token names its caller', () => {
  it('by its sub claim, for the change log and for limits', async () => {
    const verified = await verifier().verify(issueToken(secret, ['exams.view'], { subject: 'ann' }))
    expect(verified).toMatchObject({ subject: 'ann', caller: 'sub:ann' })
  })

  it('without a sub, by a fingerprint of the token: two such tokens are two callers, never one shared scope', async () => {
    const now = Math.floor(Date.now() / 1000)
    const bare = (jti: string) =>
      signToken(secret, {
        iss: OWN_ISSUER,
        aud: OWN_AUDIENCE,
        iat: now,
        exp: now + 600,
        permissions: ['exams.view'],
        jti,
      } as never)
    const v = verifier()
    const [a, b] = await Promise.all([v.verify(bare('a')), v.verify(bare('b'))])
    expect(a.subject).toBeNull()
    expect(a.caller).toMatch(/^token:[\w-]{16}$/)
    expect(b.caller).toMatch(/^token:/)
    expect(a.caller).not.toBe(b.caller)
    expect((await v.verify(bare('a'))).caller).toBe(a.caller)
  })
})

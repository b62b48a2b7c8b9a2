// Supabase-style asymmetric tokens against a local JWKS: accepted keys, the negative matrix, rotation, issuer down.
import { createHmac } from 'node:crypto'
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest'
import { issueToken } from '../../src/http/jwt.js'
import { bearer, startTestApp, type TestApp } from '../support/fixtures.js'
import { makeKey, startJwksServer, type JwksServer, type TestKey } from '../support/jwks-server.js'

const b64 = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url')

describe('tokens verified against the issuer’s JWKS (SUPABASE_URL)', () => {
  let t: TestApp
  let issuer: JwksServer
  let es256: TestKey
  let rs256: TestKey
  let eddsa: TestKey

  beforeAll(async () => {
    ;[es256, rs256, eddsa] = await Promise.all([makeKey('ES256'), makeKey('RS256'), makeKey('EdDSA')])
    issuer = await startJwksServer([es256, rs256, eddsa])
    t = await startTestApp({ env: { SUPABASE_URL: issuer.url } })
  })
  afterAll(async () => {
    await t.close()
    await issuer.stop()
  })
  afterEach(() => vi.useRealTimers())

  const get = (token: string, url = '/api/mock-exams') =>
    t.app.http.inject({ method: 'GET', url, headers: bearer(token) })
  const status = async (token: string) => (await get(token)).statusCode

  it('accepts ES256, RS256 and EdDSA tokens from the JWKS, and HS256 ones from the secret as well', async () => {
    for (const key of [es256, rs256, eddsa]) expect(await status(await issuer.sign(key)), key.alg).toBe(200)
    // Both at once: the legacy secret keeps working during a migration.
    expect(await status(t.token)).toBe(200)
    // aud as an array.
    expect(await status(await issuer.sign(es256, { aud: ['authenticated', 'other'] }))).toBe(200)
  })

  it('answers 401 to every token that is not what the issuer signed for us', async () => {
    const now = Math.floor(Date.now() / 1000)
    const stranger = await makeKey('ES256', es256.kid)
    const unlisted = await makeKey('ES256')
    const publicKeyAsSecret = JSON.stringify(es256.jwk)
    const hmacPayload = b64({ iss: issuer.issuer, aud: 'authenticated', exp: now + 600, permissions: ['exams.view'] })
    const hmacHeader = b64({ alg: 'HS256', typ: 'JWT', kid: es256.kid })
    const hs256WithPublicKey = `${hmacHeader}.${hmacPayload}.${createHmac('sha256', publicKeyAsSecret).update(`${hmacHeader}.${hmacPayload}`).digest('base64url')}`
    const noneHeader = b64({ alg: 'none', typ: 'JWT', kid: es256.kid })
    const cases: Record<string, string> = {
      'wrong issuer': await issuer.sign(es256, { iss: 'https://other.supabase.co/auth/v1' }),
      'no issuer': await issuer.sign(es256, { iss: undefined }),
      'wrong audience': await issuer.sign(es256, { aud: 'anon' }),
      'no audience': await issuer.sign(es256, { aud: undefined }),
      expired: await issuer.sign(es256, { exp: now - 60 }),
      'no exp': await issuer.sign(es256, { exp: undefined }),
      'future nbf': await issuer.sign(es256, { nbf: now + 120 }),
      'unknown kid': await issuer.sign(unlisted),
      'a key not in the set, under a listed kid': await issuer.sign(stranger),
      'kid of an RSA key on an ES256 token': await issuer.sign(es256, {}, { kid: rs256.kid }),
      'alg none': `${noneHeader}.${hmacPayload}.`,
      'HS256 keyed with the public key': hs256WithPublicKey,
      'ES384 (not accepted)': `${b64({ alg: 'ES384', kid: es256.kid })}.${hmacPayload}.c2ln`,
      'tampered payload': (await issuer.sign(es256, { app_metadata: { permissions: [] } })).replace(
        /\.[^.]+\./,
        `.${b64({ iss: issuer.issuer, aud: 'authenticated', exp: now + 600, app_metadata: { permissions: ['exams.view'] } })}.`,
      ),
    }
    for (const [name, token] of Object.entries(cases)) {
      const response = await get(token)
      expect(response.statusCode, name).toBe(401)
      expect(response.json().error.code, name).toBe('E_UNAUTHORIZED')
    }
  })

  it('answers 403 to a valid token without the permission; user_metadata grants nothing', async () => {
    const viewer = await issuer.sign(es256, { app_metadata: { permissions: ['bookings.edit'] } })
    expect(await status(viewer)).toBe(403)
    const selfGranted = await issuer.sign(es256, { app_metadata: {}, user_metadata: { permissions: ['exams.view'] } })
    expect(await status(selfGranted)).toBe(403)
    // The top-level permissions claim is read too, as for our own tokens.
    expect(await status(await issuer.sign(es256, { app_metadata: {}, permissions: ['exams.view'] }))).toBe(200)
  })

  it('accepts a key rotated into the JWKS while running, refetching at most once per 30 s', async () => {
    vi.useFakeTimers({ toFake: ['Date'], now: Date.now() })
    const rotated = await makeKey('ES256')
    issuer.keys.push(rotated)
    const before = issuer.requests()
    // A flood of unknown kids costs at most one refetch per cooldown.
    for (let i = 0; i < 20; i++) await get(await issuer.sign(await makeKey('ES256')))
    expect(issuer.requests() - before).toBeLessThanOrEqual(1)
    vi.setSystemTime(Date.now() + 31_000)
    expect(await status(await issuer.sign(rotated))).toBe(200)
    expect(issuer.requests() - before).toBeLessThanOrEqual(2)
  })

  it('keeps verifying with cached keys while the JWKS endpoint is down, even past the cache age', async () => {
    vi.useFakeTimers({ toFake: ['Date'], now: Date.now() })
    await issuer.stop()
    vi.setSystemTime(Date.now() + 11 * 60_000)
    // Fresh tokens (not in the verified-token cache) under cached keys.
    expect(await status(await issuer.sign(es256))).toBe(200)
    expect(await status(await issuer.sign(rs256))).toBe(200)
    vi.setSystemTime(Date.now() + 31_000)
    expect(await status(await issuer.sign(await makeKey('ES256')))).toBe(401)
    expect(await status(await issuer.sign(eddsa))).toBe(200)
  })
})

describe('an issuer whose JWKS was never reachable', () => {
  it('answers 503 to its tokens, and still 200 to HS256 ones', async () => {
    const key = await makeKey('ES256')
    const issuer = await startJwksServer([key])
    const token = await issuer.sign(key)
    await issuer.stop()
    const t = await startTestApp({ env: { SUPABASE_URL: issuer.url } })
    try {
      const response = await t.app.http.inject({ method: 'GET', url: '/api/mock-exams', headers: bearer(token) })
      expect(response.statusCode).toBe(503)
      expect(response.json().error.code).toBe('E_AUTH_UNAVAILABLE')
      const own = issueToken(t.app.config.jwtSecret, ['exams.view'])
      expect(
        (await t.app.http.inject({ method: 'GET', url: '/api/mock-exams', headers: bearer(own) })).statusCode,
      ).toBe(200)
    } finally {
      await t.close()
    }
  })
})

// Authentication and permissions on every guarded route: 401 without a valid token, 403 without the grant.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { issueToken, PERMISSIONS, signToken } from '../../src/http/jwt.js'
import { upsertExams } from '../../src/replica/index.js'
import { bearer, makeExam, startTestApp, type TestApp } from '../support/fixtures.js'

describe('auth on every /api route', () => {
  let t: TestApp
  const exam = makeExam()
  beforeAll(async () => {
    t = await startTestApp({ emulator: true })
    await t.app.db.transaction((tx) => upsertExams(tx, [exam], 'manual'))
  })
  afterAll(() => t.close())

  const secret = () => t.app.config.jwtSecret
  const routes = () => t.app.http.guardedRoutes.filter((route) => !route.url.includes('*'))
  const concrete = (url: string) => url.replace(/:id\b/g, exam.hubspot_id)
  const call = (method: string, url: string, headers: Record<string, string> = {}) =>
    t.app.http.inject({
      method: method as 'GET',
      url: concrete(url),
      headers,
      ...(method === 'GET' ? {} : { payload: {} }),
    })

  it('guards every /api route and names its permission', () => {
    expect(routes().length).toBeGreaterThanOrEqual(4)
    for (const route of routes()) expect(PERMISSIONS).toContain(route.permission)
  })

  it('answers 401 to a missing, malformed, forged or expired token', async () => {
    const forged = signToken('not-the-secret-not-the-secret', { permissions: [...PERMISSIONS] })
    const expired = signToken(secret(), { permissions: [...PERMISSIONS], exp: Math.floor(Date.now() / 1000) - 10 })
    const noneAlg = `${Buffer.from('{"alg":"none"}').toString('base64url')}.${Buffer.from('{"permissions":["exams.view"]}').toString('base64url')}.`
    for (const route of routes()) {
      for (const headers of [
        {},
        bearer('garbage'),
        bearer(forged),
        bearer(expired),
        bearer(noneAlg),
        { authorization: 'Basic abc' },
      ]) {
        const response = await call(route.method, route.url, headers)
        expect(response.statusCode, `${route.method} ${route.url}`).toBe(401)
        expect(response.json()).toMatchObject({ success: false, error: { code: 'E_UNAUTHORIZED' } })
      }
    }
  })

  it('answers 403 to a valid token without the route permission', async () => {
    for (const route of routes()) {
      const others = PERMISSIONS.filter((p) => p !== route.permission)
      const response = await call(route.method, route.url, bearer(issueToken(secret(), others)))
      expect(response.statusCode, `${route.method} ${route.url}`).toBe(403)
      expect(response.json().error.code).toBe('E_FORBIDDEN')
    }
  })

  it('accepts a Supabase JWT carrying app_metadata.permissions', async () => {
    const supabase = signToken(secret(), {
      sub: 'uuid',
      role: 'authenticated',
      aud: 'authenticated',
      exp: Math.floor(Date.now() / 1000) + 60,
      app_metadata: { provider: 'email', permissions: ['exams.view'] },
    })
    expect((await call('GET', '/api/mock-exams', bearer(supabase))).statusCode).toBe(200)
  })

  it('takes ?access_token= only on the stream routes the contract names, and 401 elsewhere', async () => {
    const streams = routes()
      .filter((route) => route.queryToken)
      .map((route) => `${route.method} ${route.url}`)
    expect(streams.sort()).toEqual(['GET /api/events', 'GET /api/long-poll', 'GET /api/ws', 'GET /graphql'])
    const token = encodeURIComponent(t.token)
    for (const route of routes().filter((r) => !r.queryToken)) {
      const separator = route.url.includes('?') ? '&' : '?'
      const response = await call(route.method, `${route.url}${separator}access_token=${token}`)
      expect(response.statusCode, `${route.method} ${route.url}`).toBe(401)
    }
    const poll = await call('GET', `/api/long-poll?after=0&timeout_ms=0&access_token=${token}`)
    expect(poll.statusCode).toBe(200)
  })

  it('refuses tokens without exp, or meant for another audience or issuer', async () => {
    const now = Math.floor(Date.now() / 1000)
    const claims = { permissions: [...PERMISSIONS], iss: 'hubmirror', aud: 'hubmirror', exp: now + 60 }
    const { exp: _exp, ...noExp } = claims
    for (const bad of [
      noExp,
      { ...claims, aud: 'anon' },
      { ...claims, aud: undefined },
      { ...claims, nbf: now + 120 },
      { ...claims, exp: now - 60 },
    ]) {
      const response = await call('GET', '/api/mock-exams', bearer(signToken(secret(), bad)))
      expect(response.statusCode, JSON.stringify(bad)).toBe(401)
    }
    // aud as an array naming us, and a little clock skew, are fine.
    const skewed = signToken(secret(), { ...claims, aud: ['other', 'hubmirror'], nbf: now + 2 })
    expect((await call('GET', '/api/mock-exams', bearer(skewed))).statusCode).toBe(200)
  })

  it('limits body size and never leaks a stack trace', async () => {
    const big = 'x'.repeat(t.app.config.bodyLimitBytes + 10)
    const writeRoute = routes().find((route) => route.method === 'POST')
    if (!writeRoute) return
    const response = await t.app.http.inject({
      method: 'POST',
      url: concrete(writeRoute.url),
      headers: { ...bearer(t.token), 'content-type': 'application/json' },
      payload: `{"a":"${big}"}`,
    })
    expect(response.statusCode).toBe(413)
    expect(response.json().error.code).toBe('E_BODY_TOO_LARGE')
    const malformed = await t.app.http.inject({
      method: 'POST',
      url: concrete(writeRoute.url),
      headers: { ...bearer(t.token), 'content-type': 'application/json' },
      payload: '{"a":',
    })
    expect(malformed.statusCode).toBe(400)
    expect(malformed.body).not.toMatch(/\n\s+at /)
  })
})

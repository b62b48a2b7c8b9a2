// Over HTTP: the sign-in code exchange (once, then refused; refused after expiry) and /metrics behind metrics.read or on its own listener.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createApp, type App } from '../../src/app.js'
import { issueToken } from '../../src/http/jwt.js'
import { SIGN_IN_CODE_TTL_MS } from '../../src/http/sign-in-codes.js'
import { freshDatabase, testConfig, type TestDatabase } from '../support/env.js'
import { bearer } from '../support/fixtures.js'

const JWT = /^[\w-]+\.[\w-]+\.[\w-]+$/

describe('POST /api/auth/exchange and /metrics on the main port', () => {
  let app: App
  let database: TestDatabase
  let now = Date.now()
  beforeAll(async () => {
    database = await freshDatabase()
    const config = testConfig({ databaseUrl: database.url })
    app = await createApp({ config, inMemoryDb: true, webDist: null, signInClock: () => now })
  })
  afterAll(async () => {
    await app?.close()
    await database?.drop()
  })
  const exchange = (code: unknown) => app.http.inject({ method: 'POST', url: '/api/auth/exchange', payload: { code } })

  it('trades a code for a working token once; the second use is refused and changes nothing', async () => {
    const { code } = app.signInCodes.issue()
    const first = await exchange(code)
    expect(first.statusCode).toBe(200)
    const { token, expires_at } = first.json() as { token: string; expires_at: string }
    expect(token).toMatch(JWT)
    expect(Date.parse(expires_at)).toBeGreaterThan(Date.now())
    const reads = await app.http.inject({ url: '/api/mock-exams', headers: bearer(token) })
    expect(reads.statusCode).toBe(200)

    const second = await exchange(code)
    expect(second.statusCode).toBe(401)
    expect(second.json()).toMatchObject({
      success: false,
      error: { code: 'E_SIGN_IN_CODE_REFUSED', field: 'code', message: expect.stringContaining('already used') },
    })
    expect(second.body).not.toMatch(/eyJ/)
  })

  it('refuses a code once ten minutes have passed, and one it never issued', async () => {
    const { code } = app.signInCodes.issue()
    now += SIGN_IN_CODE_TTL_MS
    const late = await exchange(code)
    expect(late.statusCode).toBe(401)
    expect(late.json().error.message).toContain('expired')
    const forged = await exchange('A'.repeat(43))
    expect(forged.statusCode).toBe(401)
    expect(forged.json().error.message).toContain('not valid')
  })

  it('answers 400 naming the field to a missing or malformed code', async () => {
    for (const payload of [{}, { code: 42 }, { code: 'short' }, { code: 'has spaces in it, not a code' }]) {
      const res = await app.http.inject({ method: 'POST', url: '/api/auth/exchange', payload })
      expect(res.statusCode, JSON.stringify(payload)).toBe(400)
      expect(res.json().error).toMatchObject({ code: 'E_VALIDATION', field: 'code' })
    }
  })

  it('/metrics: 401 without a token, 403 without metrics.read, the scrape with it', async () => {
    expect((await app.http.inject('/metrics')).statusCode).toBe(401)
    const viewer = issueToken(app.config.jwtSecret, ['exams.view', 'exams.edit', 'bookings.edit', 'sync.run'])
    const refused = await app.http.inject({ url: '/metrics', headers: bearer(viewer) })
    expect(refused.statusCode).toBe(403)
    expect(refused.body).not.toContain('hubmirror_http_request_duration_seconds')
    const scraper = issueToken(app.config.jwtSecret, ['metrics.read'])
    const scrape = await app.http.inject({ url: '/metrics', headers: bearer(scraper) })
    expect(scrape.statusCode).toBe(200)
    expect(scrape.headers['content-type']).toContain('text/plain')
    expect(scrape.body).toContain('hubmirror_http_request_duration_seconds')
  })
})

describe('/metrics on HUBMIRROR_METRICS_HOST/PORT', () => {
  let app: App
  let database: TestDatabase
  let main: string
  beforeAll(async () => {
    database = await freshDatabase()
    const config = testConfig({
      databaseUrl: database.url,
      env: { HOST: '127.0.0.1', HUBMIRROR_METRICS_HOST: '127.0.0.1', HUBMIRROR_METRICS_PORT: '0' },
    })
    app = await createApp({ config, inMemoryDb: true, webDist: null })
    main = await app.listen()
  })
  afterAll(async () => {
    await app?.close()
    await database?.drop()
  })

  it('serves the scrape unauthenticated there, and nothing at /metrics on the main port', async () => {
    const url = app.metricsUrl()
    expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/)
    expect(url).not.toBe(main)
    const scrape = await fetch(`${url}/metrics`)
    expect(scrape.status).toBe(200)
    expect(await scrape.text()).toContain('hubmirror_http_request_duration_seconds')
    expect((await fetch(`${url}/api/mock-exams`)).status).toBe(404)
    expect((await fetch(`${url}/metrics`, { method: 'POST' })).status).toBe(405)
    const scraper = issueToken(app.config.jwtSecret, ['metrics.read'])
    const onMain = await fetch(`${main}/metrics`, { headers: bearer(scraper) })
    expect(onMain.status).toBe(404)
  })
})

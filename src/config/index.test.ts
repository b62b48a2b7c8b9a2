// Unit tests of configuration: defaults, validation errors naming the variable, the generated secret.
import { chmodSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { ConfigError, loadConfig, parseDuration } from './index.js'

describe('loadConfig', () => {
  const dirs: string[] = []
  const dataDir = () => {
    const dir = mkdtempSync(join(tmpdir(), 'hm-config-'))
    dirs.push(dir)
    return dir
  }
  afterEach(() => dirs.splice(0).forEach((dir) => rmSync(dir, { recursive: true, force: true })))

  it('fills in the embedded defaults', () => {
    const config = loadConfig({ HUBMIRROR_DATA_DIR: dataDir() })
    expect(config).toMatchObject({
      port: 3000,
      host: '127.0.0.1',
      databaseUrl: null,
      redisUrl: null,
      syncStaleAfterMs: 30_000,
      syncLiveIntervalMs: 10_000,
    })
    expect(config.hubspot).toMatchObject({
      accessToken: null,
      rateLimit10s: 190,
      searchRatePerSecond: 5,
      dailyLimit: 1_000_000,
      apiVersion: '2026-03',
    })
  })

  it('puts /metrics on its own address only when HUBMIRROR_METRICS_PORT says so, and names the variable when wrong', () => {
    expect(loadConfig({ HUBMIRROR_DATA_DIR: dataDir() }).metricsListen).toBeNull()
    expect(loadConfig({ HUBMIRROR_DATA_DIR: dataDir(), HUBMIRROR_METRICS_PORT: '9464' }).metricsListen).toEqual({
      host: '127.0.0.1',
      port: 9464,
    })
    expect(
      loadConfig({ HUBMIRROR_DATA_DIR: dataDir(), HUBMIRROR_METRICS_HOST: '10.0.0.5', HUBMIRROR_METRICS_PORT: '9464' })
        .metricsListen,
    ).toEqual({ host: '10.0.0.5', port: 9464 })
    for (const [env, message] of [
      [{ HUBMIRROR_METRICS_HOST: '0.0.0.0' }, /HUBMIRROR_METRICS_PORT: is required with HUBMIRROR_METRICS_HOST/],
      [{ HUBMIRROR_METRICS_PORT: '70000' }, /HUBMIRROR_METRICS_PORT: expected a port/],
      [{ HUBMIRROR_METRICS_PORT: 'nine' }, /HUBMIRROR_METRICS_PORT: expected an integer/],
    ] as const)
      expect(() => loadConfig({ HUBMIRROR_DATA_DIR: dataDir(), ...env })).toThrow(message)
  })

  it('refuses a shared folder such as /tmp as the data dir, naming the variable', () => {
    // Made here: a test run's own temp dir (TMPDIR) is not a shared one.
    const shared = join(mkdtempSync(join(tmpdir(), 'hubmirror-config-')), 'shared')
    mkdirSync(shared)
    chmodSync(shared, 0o1777)
    expect(() => loadConfig({ HUBMIRROR_DATA_DIR: shared })).toThrowError(/HUBMIRROR_DATA_DIR: .* shared folder/)
  })

  it('takes the legacy v3 path family and custom object references in the three spellings HubSpot accepts', () => {
    const config = loadConfig({
      HUBMIRROR_DATA_DIR: dataDir(),
      HUBSPOT_API_VERSION: 'v3',
      HUBSPOT_MOCK_EXAMS_OBJECT: 'p_mock_exams',
      HUBSPOT_BOOKINGS_OBJECT: 'p24681357_bookings',
    })
    expect(config.hubspot).toMatchObject({
      apiVersion: 'v3',
      mockExamsObject: 'p_mock_exams',
      bookingsObject: 'p24681357_bookings',
    })
    expect(
      loadConfig({ HUBMIRROR_DATA_DIR: dataDir(), HUBSPOT_BOOKINGS_OBJECT: '2-50002' }).hubspot.bookingsObject,
    ).toBe('2-50002')
  })

  it('generates the JWT secret into the data dir once, and reuses it', () => {
    const dir = dataDir()
    const first = loadConfig({ HUBMIRROR_DATA_DIR: dir }).jwtSecret
    expect(first.length).toBeGreaterThanOrEqual(32)
    expect(readFileSync(join(dir, 'jwt-secret'), 'utf8').trim()).toBe(first)
    expect(loadConfig({ HUBMIRROR_DATA_DIR: dir }).jwtSecret).toBe(first)
    expect(statSync(join(dir, 'jwt-secret')).mode & 0o777).toBe(0o600)
    // Written under a temporary name and linked into place: nothing is left behind.
    expect(readdirSync(dir)).toEqual(['jwt-secret'])
  })

  it.runIf(process.platform !== 'win32')('refuses a secret file readable by others, naming the fix', () => {
    const dir = dataDir()
    loadConfig({ HUBMIRROR_DATA_DIR: dir })
    chmodSync(join(dir, 'jwt-secret'), 0o644)
    expect(() => loadConfig({ HUBMIRROR_DATA_DIR: dir })).toThrowError(/readable by other users.*chmod 600/)
  })

  it('refuses an empty or short secret file rather than keying an HMAC with it', () => {
    for (const content of ['', '\n', 'x'.repeat(31)]) {
      const dir = dataDir()
      writeFileSync(join(dir, 'jwt-secret'), content, { mode: 0o600 })
      expect(() => loadConfig({ HUBMIRROR_DATA_DIR: dir })).toThrowError(/fewer than the 32 an HS256 secret needs/)
    }
  })

  it('reads SUPABASE_URL into the JWKS, issuer and audience, and requires claims for another issuer', () => {
    const supabase = loadConfig({ HUBMIRROR_DATA_DIR: dataDir(), SUPABASE_URL: 'https://abc.supabase.co/' })
    expect(supabase.jwks).toEqual({
      url: 'https://abc.supabase.co/auth/v1/.well-known/jwks.json',
      issuer: 'https://abc.supabase.co/auth/v1',
      audience: 'authenticated',
    })
    expect(loadConfig({ HUBMIRROR_DATA_DIR: dataDir() }).jwks).toBeNull()
    const other = { HUBMIRROR_DATA_DIR: dataDir(), HUBMIRROR_JWKS_URL: 'https://id.example.com/jwks' }
    expect(() => loadConfig(other)).toThrowError('HUBMIRROR_JWT_ISSUER')
    expect(() => loadConfig({ ...other, HUBMIRROR_JWT_ISSUER: 'https://id.example.com' })).toThrowError(
      'HUBMIRROR_JWT_AUDIENCE',
    )
    expect(
      loadConfig({ ...other, HUBMIRROR_JWT_ISSUER: 'https://id.example.com', HUBMIRROR_JWT_AUDIENCE: 'hubmirror' })
        .jwks,
    ).toEqual({ url: 'https://id.example.com/jwks', issuer: 'https://id.example.com', audience: 'hubmirror' })
  })

  it.each([
    ['PORT', 'abc'],
    ['DATABASE_URL', 'mysql://x'],
    ['REDIS_URL', 'not a url'],
    ['HUBSPOT_RATE_LIMIT_10S', '0'],
    ['SYNC_STALE_AFTER', 'soon'],
    ['HUBMIRROR_JWT_SECRET', 'short'],
    ['HUBMIRROR_JWT_SECRET', 'x'.repeat(31)],
    ['SUPABASE_URL', 'abc.supabase.co'],
    ['HUBSPOT_API_VERSION', 'v4'],
    ['HUBSPOT_API_VERSION', '2025-09'],
    // The base name stopped working at HubSpot in 2025.
    ['HUBSPOT_BOOKINGS_OBJECT', 'bookings'],
    ['HUBSPOT_MOCK_EXAMS_OBJECT', '2-'],
  ])('rejects a bad %s, naming it', (variable, value) => {
    expect(() => loadConfig({ HUBMIRROR_DATA_DIR: dataDir(), [variable]: value })).toThrowError(ConfigError)
    expect(() => loadConfig({ HUBMIRROR_DATA_DIR: dataDir(), [variable]: value })).toThrowError(variable)
  })

  it('parses durations', () => {
    expect(parseDuration('30s')).toBe(30_000)
    expect(parseDuration('250ms')).toBe(250)
    expect(parseDuration('1.5m')).toBe(90_000)
    expect(parseDuration('400')).toBe(400)
    expect(parseDuration('5 days')).toBeNull()
  })
})

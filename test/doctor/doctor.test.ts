// `hubmirror doctor`: all green on a healthy start; each injected fault fails its own line, with the fix.
import { execFile } from 'node:child_process'
import { chmodSync, mkdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { openReplica } from '../../src/replica/index.js'
import { runDoctor, type Check, type DoctorInput, type DoctorReport } from '../../src/doctor/index.js'
import { CHECK_IDS } from '../../src/model/doctor.js'
import type { RunningEmulator } from '../../src/emulator/index.js'
import { bearer, startTestApp, startTestEmulator, type TestApp } from '../support/fixtures.js'
import { realPostgres, tempDir, testConfig } from '../support/env.js'
import { makeKey, startJwksServer } from '../support/jwks-server.js'
import { ensureSupabaseRoles } from '../support/owned-database.js'
import { startPrivatePgBouncer } from '../support/private-services.js'

const run = promisify(execFile)
const ROOT = join(import.meta.dirname, '../..')
/** Nothing listens here: connections are refused at once. */
const DEAD_REDIS = 'redis://127.0.0.1:1'

const line = (doctor: DoctorReport, id: Check['id']) => doctor.checks.find((c) => c.id === id)!
const failing = (doctor: DoctorReport) => doctor.checks.filter((c) => c.status === 'fail').map((c) => c.id)

describe('hubmirror doctor', () => {
  let t: TestApp
  let url: string
  let guarded: RunningEmulator
  /** The healthy app's own inputs; each fault changes one of them. */
  let healthy: DoctorInput

  beforeAll(async () => {
    t = await startTestApp({ emulator: { seed: 100 } })
    url = await t.app.listen()
    guarded = await startTestEmulator({ token: 'the-right-token' })
    healthy = {
      config: t.app.config,
      db: t.app.db,
      hubspot: { baseUrl: t.emulator!.url, accessToken: 'test-token' },
      budget: t.app.hubspot!.client.budget,
    }
  }, 60_000)
  afterAll(async () => {
    await guarded?.close()
    await t?.close()
  })

  it('is all green on a healthy start, through the dashboard route', async () => {
    const response = await fetch(`${url}/api/sync/doctor`, { headers: bearer(t.token) })
    expect(response.status).toBe(200)
    const body = (await response.json()) as { success: boolean; doctor: DoctorReport }
    expect(body.success).toBe(true)
    const notOk = body.doctor.checks.filter((c) => c.status !== 'ok')
    expect(notOk, JSON.stringify(notOk)).toEqual([])
    expect(body.doctor.ok).toBe(true)
    // Every check of the registry ran, in its order (the dashboard lists them so).
    expect(body.doctor.checks.map((c) => c.id)).toEqual([...CHECK_IDS])
    expect(line(body.doctor, 'hubspot_limits').summary).toContain('190 per 10 s')
  })

  it('needs a token: 401 without one', async () => {
    expect((await fetch(`${url}/api/sync/doctor`)).status).toBe(401)
  })

  it('Redis down: the Redis line fails with its fix, nothing else does', async () => {
    const config = testConfig({ env: { REDIS_URL: DEAD_REDIS }, databaseUrl: t.database.url })
    const doctor = await runDoctor({ ...healthy, config })
    expect(failing(doctor)).toEqual(['redis'])
    expect(line(doctor, 'redis').summary).toContain('does not answer')
    expect(line(doctor, 'redis').fix).toMatch(/REDIS_URL/)
    expect(doctor.ok).toBe(false)
  })

  it('a data dir others can read: the data dir line fails naming the files and modes, with the chmod that fixes it', async () => {
    const config = testConfig({ databaseUrl: t.database.url })
    mkdirSync(join(config.dataDir, 'emulator'), { mode: 0o755 })
    writeFileSync(join(config.dataDir, 'emulator', 'hubspot-emulator.json'), '{}', { mode: 0o644 })
    chmodSync(join(config.dataDir, 'emulator'), 0o755)
    chmodSync(join(config.dataDir, 'emulator', 'hubspot-emulator.json'), 0o644)
    const doctor = await runDoctor({ ...healthy, config })
    expect(failing(doctor)).toEqual(['data_dir'])
    const dataDir = line(doctor, 'data_dir')
    expect(dataDir.summary).toContain('2 folder(s) or file(s)')
    expect(dataDir.details).toEqual(
      expect.arrayContaining([
        `folder ${join(config.dataDir, 'emulator')} is 755`,
        `file ${join(config.dataDir, 'emulator', 'hubspot-emulator.json')} is 644`,
      ]),
    )
    expect(dataDir.fix).toContain(`chmod -R go-rwx '${config.dataDir}'`)
    // The fix it names works: the same check passes after it.
    await run('chmod', ['-R', 'go-rwx', config.dataDir])
    expect(line(await runDoctor({ ...healthy, config }), 'data_dir').status).toBe('ok')
  })

  it('a wrong HubSpot token: the token line fails with its fix, and HubSpot lines after it are skipped', async () => {
    const doctor = await runDoctor({ ...healthy, hubspot: { baseUrl: guarded.url, accessToken: 'a-wrong-token' } })
    expect(failing(doctor)).toEqual(['hubspot_token'])
    expect(line(doctor, 'hubspot_token').summary).toContain('401')
    expect(line(doctor, 'hubspot_token').fix).toMatch(/HUBSPOT_ACCESS_TOKEN/)
    expect(line(doctor, 'hubspot_objects').status).toBe('skip')
    // The right token passes the same emulator.
    const right = await runDoctor({ ...healthy, hubspot: { baseUrl: guarded.url, accessToken: 'the-right-token' } })
    expect(line(right, 'hubspot_token').status).toBe('ok')
  })

  it('HubSpot stating lower limits than configured: the limits line fails and names the value to set', async () => {
    const strict = await startTestEmulator({ rateLimit10s: 100 })
    try {
      const doctor = await runDoctor({ ...healthy, hubspot: { baseUrl: strict.url, accessToken: 'x' } })
      expect(failing(doctor)).toEqual(['hubspot_limits'])
      expect(line(doctor, 'hubspot_limits').fix).toContain('HUBSPOT_RATE_LIMIT_10S=100')
    } finally {
      await strict.close()
    }
  })

  it('RLS switched off on one table: the RLS line fails naming it, with the statement that fixes it', async () => {
    await t.app.db.query('ALTER TABLE hubmirror.write_intents DISABLE ROW LEVEL SECURITY')
    try {
      const doctor = await runDoctor(healthy)
      expect(failing(doctor)).toEqual(['rls'])
      expect(line(doctor, 'rls').summary).toBe('RLS is off on hubmirror.write_intents')
      expect(line(doctor, 'rls').fix).toBe('ALTER TABLE hubmirror.write_intents ENABLE ROW LEVEL SECURITY;')
    } finally {
      await t.app.db.query('ALTER TABLE hubmirror.write_intents ENABLE ROW LEVEL SECURITY')
    }
    expect((await runDoctor(healthy)).ok).toBe(true)
  })

  it('JWT: a reachable Supabase JWKS with keys passes; an unreachable one fails with its fix', async () => {
    const issuer = await startJwksServer([await makeKey('ES256')])
    try {
      const config = testConfig({ databaseUrl: t.database.url, env: { SUPABASE_URL: issuer.url } })
      const good = await runDoctor({ ...healthy, config })
      expect(line(good, 'jwt').status).toBe('ok')
      expect(line(good, 'jwt').summary).toContain('1 key(s)')
    } finally {
      await issuer.stop()
    }
    const dead = testConfig({ databaseUrl: t.database.url, env: { SUPABASE_URL: 'http://127.0.0.1:1' } })
    const doctor = await runDoctor({ ...healthy, config: dead })
    expect(failing(doctor)).toEqual(['jwt'])
    expect(line(doctor, 'jwt').fix).toMatch(/SUPABASE_URL/)
  })

  it.skipIf(!realPostgres)(
    'a transaction pooler (PgBouncer) without a direct URL: the pool line fails with its fix; with one it passes',
    async () => {
      const direct = t.database.url!
      const bouncer = await startPrivatePgBouncer({ server: direct, poolMode: 'transaction' })
      const through = async (env: Record<string, string>) => {
        const config = testConfig({ databaseUrl: bouncer.url(new URL(direct).pathname.slice(1)), env })
        const db = await openReplica(config)
        try {
          return await runDoctor({ ...healthy, config, db })
        } finally {
          await db.close()
        }
      }
      try {
        const doctor = await through({})
        expect(failing(doctor)).toContain('pool')
        expect(failing(doctor).every((id) => id === 'pool' || id === 'listen')).toBe(true)
        expect(line(doctor, 'pool').summary).toContain('transaction pooler (probe)')
        expect(line(doctor, 'pool').fix).toMatch(/DATABASE_DIRECT_URL/)
        const fixed = await through({ DATABASE_DIRECT_URL: direct })
        expect(failing(fixed)).toEqual([])
        expect(line(fixed, 'pool').status).toBe('ok')
        expect(line(fixed, 'listen').status).toBe('ok')
        // DATABASE_POOL_MODE says so without a probe, on a direct connection too.
        const declaredConfig = testConfig({ databaseUrl: direct, env: { DATABASE_POOL_MODE: 'transaction' } })
        const declaredDb = await openReplica(declaredConfig)
        try {
          const declared = await runDoctor({ ...healthy, config: declaredConfig, db: declaredDb })
          expect(line(declared, 'pool').summary).toContain('(DATABASE_POOL_MODE)')
          expect(line(declared, 'pool').status).toBe('fail')
        } finally {
          await declaredDb.close()
        }
      } finally {
        await bouncer.close()
      }
    },
    60_000,
  )

  it.skipIf(!realPostgres)(
    'a Data API role granted an internal table: the grants line fails with the REVOKE',
    async () => {
      await ensureSupabaseRoles(t.database.url!)
      await t.app.db.query('GRANT USAGE ON SCHEMA hubmirror TO anon')
      await t.app.db.query('GRANT SELECT, UPDATE ON hubmirror.replica_events TO anon')
      try {
        const doctor = await runDoctor(healthy)
        expect(failing(doctor)).toEqual(['grants'])
        expect(line(doctor, 'grants').details).toEqual(
          expect.arrayContaining([
            'anon has USAGE on schema hubmirror',
            'anon may SELECT, UPDATE on hubmirror.replica_events',
          ]),
        )
        expect(line(doctor, 'grants').fix).toContain('REVOKE SELECT, UPDATE ON hubmirror.replica_events FROM anon;')
      } finally {
        await t.app.db.query('REVOKE ALL ON SCHEMA hubmirror FROM anon')
        await t.app.db.query('REVOKE ALL ON hubmirror.replica_events FROM anon')
      }
    },
  )

  it('the CLI prints the checklist with the fix, --json for scripts, and exits 1 on a failure', async () => {
    const dir = tempDir()
    const env = {
      ...process.env,
      HUBMIRROR_DATA_DIR: dir.path,
      HUBMIRROR_JWT_SECRET: 'test-secret-test-secret-test-secret',
      // No service answers here, so the CLI checks by itself.
      PORT: '1',
      REDIS_URL: DEAD_REDIS,
      LOG_LEVEL: 'silent',
      ...(t.database.url ? { DATABASE_URL: t.database.url } : {}),
      HUBSPOT_BASE_URL: t.emulator!.url,
    }
    const cli = (args: string[]) =>
      run(process.execPath, [join(ROOT, 'bin/hubmirror.js'), 'doctor', ...args], { cwd: ROOT, env }).then(
        () => ({ code: 0, stdout: '' }),
        (error: { code: number; stdout: string }) => ({ code: error.code, stdout: error.stdout }),
      )
    try {
      const json = await cli(['--json'])
      expect(json.code).toBe(1)
      const doctor = JSON.parse(json.stdout) as DoctorReport
      expect(doctor.ok).toBe(false)
      expect(line(doctor, 'redis').status).toBe('fail')
      expect(line(doctor, 'hubspot_token').status).toBe('ok')
      const text = await cli([])
      expect(text.code).toBe(1)
      expect(text.stdout).toMatch(/✗ Redis\s+redis:\/\/127\.0\.0\.1:1 does not answer/)
      expect(text.stdout).toMatch(/fix: start Redis or correct REDIS_URL/)
    } finally {
      dir.remove()
    }
  }, 120_000)
})

// `hubmirror backfill` killed with SIGKILL half-way resumes from its checkpoint, and the replica then equals HubSpot exactly.
import { spawn } from 'node:child_process'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startEmulator, type RunningEmulator } from '../../src/emulator/index.js'
import { openReplica } from '../../src/replica/index.js'
import { freshDatabase, tempDir, type TestDatabase } from '../support/env.js'
import { expectReplicaMatches } from '../support/replica-check.js'
import { setTimeout as sleep } from 'node:timers/promises'

const BOOKINGS = 6_000

interface Run {
  code: number | null
  signal: NodeJS.Signals | null
  stdout: string
  stderr: string
}

describe('backfill: kill -9 and resume', () => {
  let emulator: RunningEmulator
  let database: TestDatabase
  const dir = tempDir('hubmirror-backfill-')
  let env: Record<string, string>

  beforeAll(async () => {
    // The account allows 20 calls / 10 s (the CLI learns it from the headers) and the CLI keeps to
    // 2 searches / s, so that the backfill lasts about ten seconds; the limits are raised before
    // the test's own listings so that they are not slowed (the benchmark covers 429s).
    emulator = await startEmulator({
      port: 0,
      dataDir: null,
      seed: BOOKINGS,
      rateLimit10s: 20,
      searchRatePerSecond: 1_000,
    })
    database = await freshDatabase()
    env = {
      HUBSPOT_BASE_URL: emulator.url,
      HUBSPOT_RATE_LIMIT_10S: '20',
      HUBSPOT_SEARCH_RATE_S: '2',
      HUBMIRROR_DATA_DIR: dir.path,
      LOG_LEVEL: 'warn',
      ...(database.url ? { DATABASE_URL: database.url } : {}),
    }
  })
  afterAll(async () => {
    await emulator.close()
    await database.drop()
    dir.remove()
  })

  function cli(
    args: string[],
    killWhen?: (stderr: string) => boolean,
    extraEnv: Record<string, string> = {},
  ): Promise<Run> {
    const childEnv = { ...process.env, ...env, DATABASE_URL: env.DATABASE_URL ?? '', ...extraEnv }
    const child = spawn(process.execPath, ['bin/hubmirror.js', ...args], {
      env: childEnv,
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    const out = { stdout: '', stderr: '' }
    child.stdout.on('data', (chunk) => (out.stdout += chunk))
    child.stderr.on('data', (chunk) => (out.stderr += chunk))
    const watch = killWhen && setInterval(() => killWhen(out.stderr) && child.kill('SIGKILL'), 10)
    return new Promise((resolve) =>
      child.on('exit', (code, signal) => {
        if (watch) clearInterval(watch)
        resolve({ code, signal, ...out })
      }),
    )
  }

  const openDb = () => openReplica({ databaseUrl: database.url, dataDir: dir.path })

  it('resumes after SIGKILL without refetching what was committed, then matches HubSpot exactly', async () => {
    // Progress lines count committed rows: kill at the first one above zero (about 3 s in).
    const killed = await cli(['backfill'], (stderr) => /backfill: [1-9][\d,]*\//.test(stderr))
    expect(killed.signal, killed.stderr).toBe('SIGKILL')

    const db = await openDb()
    let committed: number
    try {
      const { rows } = await db.query<{
        object_type: string
        cursor_ms: string | null
        backfill: { ranges: Array<{ rows: number }> } | null
      }>('SELECT object_type, cursor_ms, backfill FROM hubmirror.sync_state')
      committed = rows.reduce(
        (sum, row) => sum + (row.backfill?.ranges.reduce((n, range) => n + range.rows, 0) ?? 0),
        0,
      )
      expect(rows.every((row) => row.cursor_ms === null)).toBe(true)
      const { rows: replica } = await db.query<{ n: string }>('SELECT count(*)::text AS n FROM public.hubspot_bookings')
      // The checkpoint and the rows were committed together: never more rows than the checkpoint admits.
      expect(Number(replica[0].n)).toBeLessThanOrEqual(committed)
    } finally {
      await db.close()
    }
    expect(committed).toBeGreaterThan(0)
    expect(committed).toBeLessThan(BOOKINGS)

    // Resumed at once: the killed run's calls are still in HubSpot's rolling window, and the new process
    // takes them from X-HubSpot-RateLimit-Remaining on its first answer rather than assuming a fresh window.
    const resumed = await cli(['backfill', '--json'])
    expect(resumed.code, resumed.stderr).toBe(0)
    const result = JSON.parse(resumed.stdout)
    expect(result).toMatchObject({
      ran: true,
      resumed: true,
      rateLimited: 0,
      rows: { bookings: BOOKINGS, exams: BOOKINGS / 100 },
    })
    // Only what the killed run had not committed was fetched again.
    expect(result.fetched).toBe(BOOKINGS + BOOKINGS / 100 - committed)
    expect(emulator.stats().byStatus['429']).toBeUndefined()

    emulator.setLimits({ rateLimit10s: 100_000 })
    await sleep(100)
    const check = await openDb()
    try {
      await expectReplicaMatches(check, emulator)
    } finally {
      await check.close()
    }
    const again = await cli(['backfill'])
    expect(again.stdout).toContain('already complete')
    // Listing everything at 5 calls/s would only slow the test down.
    const reconcile = await cli(['reconcile', '--json'], undefined, {
      HUBSPOT_RATE_LIMIT_10S: '100000',
      HUBSPOT_SEARCH_RATE_S: '1000',
    })
    expect(reconcile.code, reconcile.stderr).toBe(0)
    expect(JSON.parse(reconcile.stdout)).toMatchObject({
      missing_in_replica: 0,
      extra_in_replica: 0,
      stale_in_replica: 0,
    })
  }, 120_000)

  it('says what to set when neither a token nor a base URL is configured', async () => {
    const child = spawn(process.execPath, ['bin/hubmirror.js', 'backfill'], {
      env: {
        ...process.env,
        HUBSPOT_ACCESS_TOKEN: '',
        HUBSPOT_BASE_URL: '',
        HUBMIRROR_DATA_DIR: join(dir.path, 'none'),
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    let stderr = ''
    child.stderr.on('data', (chunk) => (stderr += chunk))
    const code = await new Promise((resolve) => child.on('exit', resolve))
    expect(code).toBe(2)
    expect(stderr).toMatch(/HUBSPOT_ACCESS_TOKEN.*HUBSPOT_BASE_URL/s)
  }, 30_000)
})

// The CLI in a second terminal beside `npm start`: reconcile and sync find the running server (and its emulator) with no HubSpot env.
import { spawn } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startChildServer, type ChildServer } from '../support/child-server.js'
import { freshDatabase, realPostgres, tempDir, type TestDatabase } from '../support/env.js'

const JWT = /eyJ[\w-]+\.eyJ[\w-]+\.[\w-]+/
/** Everything that would point the CLI at a HubSpot or a database, blanked: the CLI must find the server itself. */
const NO_HUBSPOT = { HUBSPOT_ACCESS_TOKEN: '', HUBSPOT_BASE_URL: '', REDIS_URL: '', LOG_LEVEL: 'warn' }

interface Run {
  code: number | null
  out: string
  err: string
}

/** `node bin/hubmirror.js ...` as its own process, like `npx hubmirror ...` in a second terminal. */
function cli(argv: string[], env: Record<string, string>): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['bin/hubmirror.js', ...argv], {
      env: { ...process.env, ...NO_HUBSPOT, DATABASE_URL: '', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    let out = ''
    let err = ''
    child.stdout.on('data', (c) => (out += c))
    child.stderr.on('data', (c) => (err += c))
    const timer = setTimeout(() => child.kill('SIGKILL'), 120_000)
    child.once('error', reject)
    child.once('exit', (code) => {
      clearTimeout(timer)
      resolve({ code, out, err })
    })
  })
}

function parseJson(run: Run): Record<string, unknown> {
  const line = run.out.trim().split('\n').pop() ?? ''
  try {
    return JSON.parse(line) as Record<string, unknown>
  } catch {
    throw new Error(`not JSON (exit ${run.code}):\n${run.out}\n${run.err}`)
  }
}

interface Mode {
  name: string
  /** The database the server and the CLI share; '' for the server's embedded PGlite. */
  database(): Promise<TestDatabase>
  /** How the CLI says where it sends the work. */
  expectNote(server: ChildServer, record: { emulator_url: string | null }): string
}

const modes: Mode[] = [
  {
    name: 'embedded database: the CLI asks the server, which holds PGlite',
    database: async () => ({ url: null, async drop() {} }),
    expectNote: (server) => `using the server running at ${server.url}`,
  },
  ...(realPostgres
    ? [
        {
          name: 'shared Postgres: the CLI runs its own engine against the emulator the server recorded',
          database: freshDatabase,
          expectNote: (server: ChildServer, record: { emulator_url: string | null }) =>
            `using the emulator of the server at ${server.url}: ${record.emulator_url}`,
        },
      ]
    : []),
]

for (const mode of modes) {
  describe(`hubmirror reconcile / sync beside a running server (${mode.name})`, () => {
    const dir = tempDir('hubmirror-beside-')
    let db: TestDatabase
    let server: ChildServer
    let env: Record<string, string>
    let record: { url: string; emulator_url: string | null; emulator_token: string | null; embedded_database: boolean }

    beforeAll(async () => {
      db = await mode.database()
      env = { HUBMIRROR_DATA_DIR: dir.path, DATABASE_URL: db.url ?? '' }
      server = await startChildServer({ ...env, ...NO_HUBSPOT }, 180_000)
      record = JSON.parse(readFileSync(join(dir.path, 'server.json'), 'utf8')) as typeof record
    }, 200_000)

    afterAll(async () => {
      await server?.kill('SIGTERM')
      await db?.drop()
      dir.remove()
    })

    it('the server recorded where it listens and its emulator, with the token that emulator takes', async () => {
      expect(record.url).toBe(server.url)
      expect(record.emulator_url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/)
      expect(record.emulator_token).toMatch(/^[\w-]{32}$/)
      // The CLI's old fixed bearer no longer opens it: only the recorded token does.
      const stats = (token: string) =>
        fetch(`${record.emulator_url}/_emulator/stats`, { headers: { authorization: `Bearer ${token}` } })
      expect((await stats('emulator')).status).toBe(401)
      expect((await stats(record.emulator_token!)).status).toBe(200)
      expect(record.embedded_database).toBe(!db.url)
    })

    it('reconcile succeeds with no HubSpot configured, and the server sees the same report', async () => {
      const run = await cli(['reconcile', '--json'], env)
      expect(run.err).toContain(mode.expectNote(server, record))
      expect(run.err).not.toContain('HUBSPOT_ACCESS_TOKEN')
      expect(run.code, run.err).toBe(0)
      const report = parseJson(run) as { checked_at: string; objects: { bookings: { hubspot_rows: number } } }
      // The demo portal, read through the server's emulator: thousands of bookings, none of them drifted.
      expect(report.objects.bookings.hubspot_rows).toBeGreaterThan(1000)
      expect(report).toMatchObject({ missing_in_replica: 0, extra_in_replica: 0, stale_in_replica: 0 })
      // Written where the dashboard reads it: the server's status carries this run's drift.
      const token = await cli(['token', '--permissions', 'exams.view'], env)
      const res = await fetch(`${server.url}/api/sync/status`, {
        headers: { authorization: `Bearer ${token.out.trim()}` },
      })
      const { status } = (await res.json()) as { status: { drift: { checked_at: string } | null } }
      expect(status.drift?.checked_at).toBe(report.checked_at)
    })

    it('sync pulls with no HubSpot configured', async () => {
      const run = await cli(['sync', '--json'], env)
      expect(run.err).toContain(mode.expectNote(server, record))
      expect(run.code, run.err).toBe(0)
      expect(parseJson(run)).toMatchObject({ started: true })
    })

    it('with the server stopped, reconcile and sync say exactly what to set', async () => {
      await server.kill('SIGTERM')
      for (const command of ['reconcile', 'sync']) {
        const run = await cli([command], env)
        expect(run.code, command).toBe(2)
        expect(run.err).toContain('HUBSPOT_ACCESS_TOKEN')
        expect(run.err).toContain('HUBSPOT_BASE_URL=http://127.0.0.1:4000')
        expect(run.err).toContain('`npm start`')
        expect(run.out).toBe('')
      }
    })
  })
}

describe('hubmirror token as a process', () => {
  const dir = tempDir('hubmirror-token-')
  afterAll(() => dir.remove())
  const env = { HUBMIRROR_DATA_DIR: dir.path }

  it('a mistyped flag is refused with the usage, and no token is printed', async () => {
    for (const argv of [
      ['token', '--hlep'],
      ['token', '-hlep'],
      ['token', '--permisions', 'exams.view'],
      ['token', 'help'],
    ]) {
      const run = await cli(argv, env)
      expect(run.code, argv.join(' ')).toBe(2)
      expect(run.err, argv.join(' ')).toContain('usage: hubmirror token')
      expect(run.out + run.err, argv.join(' ')).not.toMatch(JWT)
    }
    const help = await cli(['token', '--help'], env)
    expect(help.code).toBe(0)
    expect(help.out).toContain('usage: hubmirror token')
    expect(help.out + help.err).not.toMatch(JWT)
    // And the well-formed line does print one: the refusals above are not a broken command.
    const good = await cli(['token', '--permissions', 'exams.view'], env)
    expect(good.code).toBe(0)
    expect(good.out.trim()).toMatch(new RegExp(`^${JWT.source}$`))
  })
})

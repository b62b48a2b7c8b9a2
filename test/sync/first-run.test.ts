// The first run: `hubmirror serve` with no configuration backfills from the embedded emulator, then prints the URL; a restart does not backfill again.
// On a shared host: the data dir is owner-only after the start (and fixed at the next), no bearer reaches stdout, the emulator wants its token.
import { chmodSync, lstatSync, readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { formatMode, looseEntries } from '../../src/config/data-dir.js'
import { createApp } from '../../src/app.js'
import { freshDatabase, tempDir, testConfig } from '../support/env.js'
import { startTestEmulator } from '../support/fixtures.js'
import { startChildServer, type ChildServer } from '../support/child-server.js'
import { within } from '../support/wait.js'

describe('first run', () => {
  const dir = tempDir('hubmirror-first-run-')
  afterAll(() => dir.remove())

  /** Files and folders under the data dir that group or others may read, write or enter. */
  const loose = () => looseEntries(dir.path).loose.map((e) => `${formatMode(e.mode)} ${e.path}`)
  const JWT = /eyJ[\w-]*\.[\w-]+\.[\w-]+/

  it('npm start with no configuration: emulator, backfill with progress in the log, then the URL; owner-only files, no bearer printed, the emulator takes only its token', async () => {
    // The umask an ordinary shell has: the server must not rely on a stricter one.
    const umask = process.umask(0o022)
    const env = {
      HUBMIRROR_DATA_DIR: dir.path,
      LOG_LEVEL: 'info',
      DATABASE_URL: '',
      REDIS_URL: '',
      HUBSPOT_ACCESS_TOKEN: '',
      HUBSPOT_BASE_URL: '',
    }
    let first: ChildServer
    try {
      first = await startChildServer(env, 120_000)
    } finally {
      process.umask(umask)
    }
    // Fastify logs its listening line just after listen() resolves: stopping sooner could cut it off.
    await within(10_000, async () => first.output().includes('Server listening at'))

    // While it runs: PGlite's cluster, the emulator's portal (students' emails), the secret, server.json.
    expect(loose()).toEqual([])
    expect(lstatSync(join(dir.path, 'pglite')).isDirectory()).toBe(true)
    const record = JSON.parse(readFileSync(join(dir.path, 'server.json'), 'utf8')) as {
      emulator_url: string
      emulator_token: string
    }
    expect(record.emulator_token).toMatch(/^[\w-]{32}$/)
    const contacts = `${record.emulator_url}/crm/v3/objects/contacts?limit=1`
    for (const [path, method] of [
      [`/crm/v3/objects/contacts?limit=1`, 'GET'],
      ['/crm/objects/2026-03/contacts?limit=1', 'GET'],
      ['/_emulator/stats', 'GET'],
      ['/_emulator/reset', 'POST'],
      ['/_emulator/faults', 'POST'],
    ] as const) {
      for (const headers of [
        {},
        { authorization: 'Bearer emulator' },
        { authorization: 'Bearer wrong-token' },
      ] as Array<Record<string, string>>) {
        const res = await fetch(`${record.emulator_url}${path}`, {
          method,
          headers: { ...headers, 'content-type': 'application/json' },
          ...(method === 'POST' ? { body: JSON.stringify({ rate429: 1 }) } : {}),
        })
        expect(res.status, `${method} ${path} with ${JSON.stringify(headers)}`).toBe(401)
      }
    }
    const ours = await fetch(contacts, { headers: { authorization: `Bearer ${record.emulator_token}` } })
    expect(ours.status).toBe(200)
    expect(((await ours.json()) as { results: unknown[] }).results.length).toBe(1)

    await first.kill('SIGTERM')
    const log = first.output()
    const backfilled = log.indexOf('backfill done')
    expect(log).toContain('HubSpot emulator running')
    expect(log).toMatch(/"msg":"backfill: [\d,]+\/[\d,]+ rows/)
    expect(backfilled).toBeGreaterThan(0)
    // Both from the logger, so in order (console lines may overtake pino's buffered ones).
    expect(log.indexOf('Server listening at')).toBeGreaterThan(backfilled)
    expect(log).toContain('hubmirror is running')
    // stdout is a pipe, as under journald, docker or CI: no sign-in link, and no bearer anywhere.
    expect(log).not.toMatch(JWT)
    expect(log).not.toContain('#code=')
    expect(log).toContain('--print-link')
    expect(log).not.toContain(record.emulator_token)

    // What an older version left: folders 0755, PGlite's files 0666, the emulator's portal 0644.
    for (const name of ['', ...readdirSync(dir.path, { recursive: true, encoding: 'utf8' })]) {
      const path = join(dir.path, name)
      // A loose jwt-secret is refused at start rather than fixed (it may have been read): see the config tests.
      if (name === 'jwt-secret') continue
      const folder = lstatSync(path).isDirectory()
      chmodSync(path, folder ? 0o755 : name.startsWith('pglite') ? 0o666 : 0o644)
    }
    expect(loose().length).toBeGreaterThan(100)
    const second = await startChildServer(env, 120_000)
    // Fixed at start, before the database or the emulator open.
    expect(loose()).toEqual([])
    await second.kill('SIGTERM')
    expect(second.output()).toContain('hubmirror is running')
    expect(second.output()).toMatch(/made them owner-only/)
    expect(second.output()).not.toContain('backfill')
    expect(second.output()).not.toMatch(JWT)
  }, 240_000)

  it('App.start() backfills only when the replica has never been backfilled', async () => {
    const emulator = await startTestEmulator({ seed: 300 })
    const database = await freshDatabase()
    const config = testConfig({ databaseUrl: database.url })
    const hubspot = { baseUrl: emulator.url, accessToken: 'test' }
    try {
      const first = await createApp({ config, webDist: null, hubspot })
      await first.start!()
      expect(await first.sync!.isBackfilled()).toBe(true)
      expect((await first.sync!.status()).objects.bookings.rows).toBe(300)
      await first.close()
      const calls = emulator.stats().total
      const second = await createApp({ config, webDist: null, hubspot })
      await second.start!()
      await second.close()
      expect(emulator.stats().total).toBe(calls)
    } finally {
      await emulator.close()
      await database.drop()
    }
  }, 120_000)
})

// The first run: `hubmirror serve` with no configuration backfills from the embedded emulator, then prints the URL; a restart does not backfill again.
import { afterAll, describe, expect, it } from 'vitest'
import { createApp } from '../../src/app.js'
import { freshDatabase, tempDir, testConfig } from '../support/env.js'
import { startTestEmulator } from '../support/fixtures.js'
import { startChildServer } from '../support/child-server.js'
import { within } from '../support/wait.js'

describe('first run', () => {
  const dir = tempDir('hubmirror-first-run-')
  afterAll(() => dir.remove())

  it('npm start with no configuration: emulator, backfill with progress in the log, then the URL with a sign-in link', async () => {
    const env = {
      HUBMIRROR_DATA_DIR: dir.path,
      LOG_LEVEL: 'info',
      DATABASE_URL: '',
      REDIS_URL: '',
      HUBSPOT_ACCESS_TOKEN: '',
      HUBSPOT_BASE_URL: '',
    }
    const first = await startChildServer(env, 120_000)
    // Fastify logs its listening line just after listen() resolves: stopping sooner could cut it off.
    await within(10_000, async () => first.output().includes('Server listening at'))
    await first.kill('SIGTERM')
    const log = first.output()
    const backfilled = log.indexOf('backfill done')
    expect(log).toContain('HubSpot emulator running')
    expect(log).toMatch(/"msg":"backfill: [\d,]+\/[\d,]+ rows/)
    expect(backfilled).toBeGreaterThan(0)
    // Both from the logger, so in order (console lines may overtake pino's buffered ones).
    expect(log.indexOf('Server listening at')).toBeGreaterThan(backfilled)
    expect(log).toContain('hubmirror is running')
    expect(log).toMatch(/sign in: http:\/\/127\.0\.0\.1:\d+\/#token=[\w-]+\.[\w-]+\.[\w-]+/)

    const second = await startChildServer(env, 120_000)
    await second.kill('SIGTERM')
    expect(second.output()).toContain('hubmirror is running')
    expect(second.output()).not.toContain('backfill')
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

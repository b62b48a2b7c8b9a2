// The triggers: nothing while idle, a background pull on a stale read, a timer only while watched; single-flight; beforePull.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createSyncEngine, type SyncEngine } from '../../src/sync/index.js'
import { realPostgres } from '../support/env.js'
import { bearer, startTestApp, startTestEmulator, twoAppsPerSuite, type TestApp } from '../support/fixtures.js'
import type { RunningEmulator } from '../../src/emulator/index.js'
import { updateObject } from '../support/hubspot-direct.js'
import { hubspotObjects } from '../support/replica-check.js'
import { within } from '../support/wait.js'
import { setTimeout as sleep } from 'node:timers/promises'

const TIMING = { SYNC_STALE_AFTER: '1s', SYNC_LIVE_INTERVAL: '300ms' }

describe('sync triggers', () => {
  let t: TestApp
  let sync: SyncEngine
  const calls = () => t.emulator!.stats().total

  beforeAll(async () => {
    t = await startTestApp({ emulator: { seed: 200 }, env: TIMING })
    sync = t.app.sync!
    await sync.backfill()
  })
  afterAll(() => t.close())

  const read = () => t.app.http.inject({ method: 'GET', url: '/api/mock-exams', headers: bearer(t.token) })

  it('makes no HubSpot call while idle and unwatched', async () => {
    const before = calls()
    await sleep(2_500)
    expect(calls()).toBe(before)
  })

  it('answers a read at once from the replica and pulls in the background when it is stale', async () => {
    await sleep(1_100)
    const exam = (await hubspotObjects(t.emulator!, 'exams'))[0]
    await updateObject(t.emulator!, 'exams', exam.id, { location: 'Halifax' })
    const before = calls()
    const response = await read()
    // Answered at once: the pull it started is still running (or has not yet made its calls), so the
    // answer did not wait for HubSpot. A counted fact, not a stopwatch.
    expect((await sync.status()).pulling || calls() - before < 5).toBe(true)
    expect(response.json().exams.find((e: { hubspot_id: string }) => e.hubspot_id === exam.id).location).not.toBe(
      'Halifax',
    )
    await within(
      3_000,
      async () =>
        (await read()).json().exams.find((e: { hubspot_id: string }) => e.hubspot_id === exam.id).location ===
        'Halifax',
    )
    // One pull: a search and an archived listing per type, and one batch read of the changed exam's
    // propertiesWithHistory (who changed it in HubSpot, for its change event's origin).
    await within(3_000, async () => !(await sync.status()).pulling)
    expect(calls() - before).toBe(5)
    // Fresh now: more reads make no more calls.
    const after = calls()
    for (let i = 0; i < 20; i++) await read()
    await sleep(200)
    expect(calls()).toBe(after)
  })

  it('pulls every SYNC_LIVE_INTERVAL only while someone watches', async () => {
    const before = calls()
    sync.setWatchers(2)
    // Two pulls at least (four calls each): the timer repeats while watched. Counted, not timed.
    await within(10_000, async () => calls() - before >= 8)
    expect((await sync.status()).watchers).toBe(2)
    sync.setWatchers(0)
    await within(3_000, async () => !(await sync.status()).pulling)
    const stopped = calls()
    // Longer than four live intervals: a timer left behind would have pulled again by now.
    await sleep(1_200)
    expect(calls()).toBe(stopped)
    expect((await sync.status()).watchers).toBe(0)
  })

  it('wires the realtime hub: a subscriber makes the replica live', async () => {
    const before = calls()
    const controller = new AbortController()
    const url = await t.app.listen()
    const stream = fetch(`${url.replace('[::1]', 'localhost')}/api/events?access_token=${t.token}`, {
      signal: controller.signal,
    }).catch(() => undefined)
    await within(3_000, async () => calls() - before >= 8)
    controller.abort()
    await stream
    await within(3_000, async () => (await sync.status()).watchers === 0)
  })

  it('is single-flight: background callers are turned away, demand callers share one follow-up pull', async () => {
    const first = sync.pull({ reason: 'cli' })
    const background = await sync.pull({ reason: 'watch' })
    expect(background).toMatchObject({ started: false, skipped: 'busy' })
    const [a, b] = await Promise.all([sync.pull(), sync.pull()])
    expect(a).toBe(b)
    expect((await first).started).toBe(true)
    expect(a.started).toBe(true)
  })
})

describe('sync: beforePull and start-up state', () => {
  let emulator: RunningEmulator
  let t: TestApp
  beforeAll(async () => {
    emulator = await startTestEmulator({ seed: 100 })
    t = await startTestApp({ emulator })
  })
  afterAll(async () => {
    await t.close()
    await emulator.close()
  })

  it('calls beforePull at the start of every pull, and pulls even when it fails', async () => {
    const order: string[] = []
    const engine = createSyncEngine({
      db: t.app.db,
      hubspot: t.app.hubspot!,
      logger: t.app.logger,
      config: t.app.config,
      beforePull: async () => {
        order.push(`intents@${emulator.stats().total}`)
        if (order.length === 2) throw new Error('HubSpot down while resolving intents')
      },
    })
    try {
      expect(await engine.isBackfilled()).toBe(false)
      // Not backfilled: a background trigger does nothing (no HubSpot call); a demand pull backfills.
      expect(await engine.pull({ reason: 'access' })).toMatchObject({ started: false, skipped: 'not-backfilled' })
      expect(order).toEqual([])
      expect((await engine.pull()).kind).toBe('backfill')
      expect((await engine.pull()).kind).toBe('incremental')
      await engine.pull({ examIds: [(await hubspotObjects(emulator, 'exams'))[0].id] })
      expect(order).toHaveLength(3)
      expect(order[0]).toBe('intents@0')
    } finally {
      await engine.stop()
    }
    expect(await engine.pull()).toMatchObject({ started: false, skipped: 'stopped' })
  })
})

describe.skipIf(!realPostgres)('sync: two instances on one Postgres', () => {
  // Limits low enough that the backfill lasts a few seconds.
  const { a, b } = twoAppsPerSuite({
    emulator: { seed: 3_000, rateLimit10s: 60 },
    env: { HUBSPOT_RATE_LIMIT_10S: '60' },
  })

  it('runs one backfill at a time across instances (advisory lock)', async () => {
    const first = a.app.sync!.backfill()
    await within(5_000, async () => (await a.app.sync!.status()).objects.bookings.rows > 0)
    // The other instance's background pulls are turned away while the backfill holds the lock.
    expect(await b.app.sync!.pull({ reason: 'watch' })).toMatchObject({ started: false, skipped: 'busy' })
    // Its demand pull waits for the lock, then pulls on top of the finished backfill.
    const demand = await b.app.sync!.pull()
    expect((await first).ran).toBe(true)
    expect(demand).toMatchObject({ started: true, kind: 'incremental' })
    expect(await b.app.sync!.isBackfilled()).toBe(true)
    expect((await b.app.sync!.status()).objects.bookings.rows).toBe(3_000)
  })
})

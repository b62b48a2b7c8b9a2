// Crash: concurrent booking writes while the server is killed -9 again and again; afterwards nothing is lost or doubled.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { RunningEmulator } from '../../src/emulator/index.js'
import { startTestEmulator } from '../support/fixtures.js'
import { startHubSpotProxy, type HubSpotProxy } from '../support/hubspot-proxy.js'
import {
  call,
  compareWithHubSpot,
  createHubSpotExam,
  fmt,
  prng,
  recordFigures,
  resilienceServers,
  seedFromEnv,
  sleep,
  withDb,
  type ResilienceServers,
} from '../support/resilience-harness.js'
import { load, profile } from './profile.js'
import { serversCountersSettled } from '../support/counters.js'

const EXAMS = 8

interface Write {
  bookingId: string
  examId: string
  /** The first 2xx: the client has been told the booking exists. */
  acked: null | { status: number; replayed: boolean; round: number; hubspotId: string }
  attempts: number
}

describe('crash: kill -9 during concurrent writes', () => {
  let emulator: RunningEmulator
  let proxy: HubSpotProxy
  let cluster: ResilienceServers
  const examIds: string[] = []

  beforeAll(async () => {
    emulator = await startTestEmulator()
    proxy = await startHubSpotProxy(emulator.url)
    cluster = await resilienceServers('crash', { hubspotUrl: proxy.url })
    // Capacity is not what this scenario is about: every write can succeed.
    for (let i = 0; i < EXAMS; i++) examIds.push((await createHubSpotExam(emulator.url, i, 10_000)).id)
  })
  afterAll(async () => {
    await cluster?.stop('SIGKILL')
    await proxy?.close()
    await emulator?.close()
    await cluster?.remove()
  })

  it(`keeps every acknowledged write, exactly once, through ${load.crashKills} kills during ${load.crashWrites} concurrent writes`, async () => {
    const started = Date.now()
    const { database, token } = cluster
    const random = prng(seedFromEnv(8_001))
    const writes: Write[] = Array.from({ length: load.crashWrites }, (_, i) => ({
      bookingId: `crash-${String(i).padStart(5, '0')}-${Math.floor(random() * 1e9).toString(36)}`,
      examId: examIds[i % EXAMS],
      acked: null,
      attempts: 0,
    }))
    const statuses = new Map<string, number>()
    let round = 0
    const count = (key: string) =>
      statuses.set(`round ${round}: ${key}`, (statuses.get(`round ${round}: ${key}`) ?? 0) + 1)
    const unexpected: string[] = []
    const killLog: Array<{ round: number; how: string; ackedInRound: number; inFlight: number }> = []
    const restartsMs: number[] = []

    // Three ways to die, in turn: the crash point inside the server (after HubSpot answered, before
    // the replica commit); kill -9 the moment HubSpot applied a batch upsert, before the server
    // heard back; and kill -9 at a random moment, when a random share of the round is answered.
    const modes = ['after HubSpot applied', 'random moment'] as const
    for (; ; round++) {
      // 70% of the writes arrive at once in the first round; the rest in slices over the next rounds,
      // so that every round has fresh writes in flight for its kill to interrupt.
      const arrived = Math.min(
        writes.length,
        Math.ceil(writes.length * 0.7) + Math.ceil((writes.length * 0.3) / load.crashKills) * round,
      )
      const pending = writes.slice(0, arrived).filter((w) => !w.acked)
      if (pending.length === 0 && arrived === writes.length) break
      const mode =
        killLog.length >= load.crashKills
          ? null
          : killLog.length === 0
            ? 'crash point'
            : modes[(killLog.length - 1) % modes.length]
      const restartStarted = Date.now()
      const live = await cluster.start(
        0,
        mode === 'crash point' ? { HUBMIRROR_CRASH_AFTER_HUBSPOT: 'booking.create' } : {},
      )
      if (round > 0) restartsMs.push(Date.now() - restartStarted)
      let ackedInRound = 0
      let inFlight = 0
      let dead = false
      let killing: Promise<void> | null = null
      const killNow = (how: string) => {
        if (killing) return killing
        killLog.push({ round, how, ackedInRound, inFlight })
        killing = live.kill('SIGKILL').then(() => void (dead = true))
        return killing
      }
      // Both proxy-timed kills key off HubSpot's batch upserts, so they land while writes are in the pipeline.
      const upsertsBeforeKill = pending.length > 100 ? Math.floor(random() * 2) : 0
      const randomDelayMs = Math.floor(random() * 250)
      let upserts = 0
      proxy.beforeReply =
        mode === 'after HubSpot applied' || mode === 'random moment'
          ? async (hubspotCall) => {
              if (
                !hubspotCall.path.endsWith('/batch/upsert') ||
                hubspotCall.status !== 200 ||
                upserts++ !== upsertsBeforeKill
              )
                return
              if (mode === 'after HubSpot applied')
                await killNow('kill -9 after HubSpot applied a batch upsert, before the server heard back')
              // Any point of the pipeline: guards, upserts, commits, counter flights, responses.
              else
                void sleep(randomDelayMs).then(() =>
                  killNow(`kill -9 at a random moment (${randomDelayMs} ms after a batch upsert)`),
                )
            }
          : null

      const attempt = async (write: Write): Promise<void> => {
        // Like a real client: retry what has no answer yet, with the same booking_id, until an answer or the server dies.
        for (let tries = 0; !dead && !write.acked; tries++) {
          write.attempts += 1
          inFlight += 1
          const answer = await call(live.url, token, 'POST', '/api/bookings', {
            examId: write.examId,
            booking_id: write.bookingId,
            student_name: `Crash ${write.bookingId}`,
            student_email: `${write.bookingId}@example.com`,
          })
          inFlight -= 1
          const code = answer.body?.error?.code as string | undefined
          count(answer.status === 0 ? 'no answer' : `${answer.status}${code ? ` ${code}` : ''}`)
          if (answer.status === 201 || answer.status === 200) {
            write.acked = {
              status: answer.status,
              replayed: answer.body.replayed === true,
              round,
              hubspotId: answer.body.booking.hubspot_id,
            }
            ackedInRound += 1
            return
          }
          if (answer.status === 0) {
            if (
              mode !== 'crash point' &&
              !killing &&
              live.process.exitCode === null &&
              live.process.signalCode === null
            )
              unexpected.push(`no answer from a live server: ${answer.error}`)
            return
          }
          // A write still in flight (its intent pending), or HubSpot or the database briefly unavailable: retry.
          if (answer.status === 409 && code === 'E_WRITE_IN_PROGRESS') {
            await sleep(200 + tries * 100)
            continue
          }
          if (answer.status === 502 || answer.status === 503) {
            await sleep(500)
            continue
          }
          unexpected.push(`${write.bookingId}: ${answer.status} ${JSON.stringify(answer.body).slice(0, 300)}`)
          return
        }
      }
      // Every pending write at once: the load is concurrent, not a queue.
      await Promise.all(pending.map(attempt))
      if (
        mode === 'crash point' &&
        (live.process.signalCode !== null || (await Promise.race([live.exited, sleep(2_000)])) === 'SIGKILL')
      ) {
        // The server killed itself (SIGKILL) at its crash point.
        killLog.push({
          round,
          how: 'crash point: after HubSpot answered, before the replica commit',
          ackedInRound,
          inFlight: pending.length - ackedInRound,
        })
      } else if (killing) {
        await killing
      } else {
        // Every write of the round was answered before the kill could land (all replays, say): next round.
        await live.kill('SIGTERM')
      }
      proxy.beforeReply = null
      expect(unexpected).toEqual([])
      if (round > 2 * load.crashKills + 3)
        throw new Error(`writes still unacknowledged after ${round} rounds: ${writes.filter((w) => !w.acked).length}`)
    }
    // Recovery and retries are done, and no sync pull ran for the check: the write path alone must have got it right.
    const kills = killLog.length
    expect(kills, JSON.stringify([killLog, Object.fromEntries(statuses)])).toBe(load.crashKills)
    expect(writes.every((w) => w.acked)).toBe(true)

    // total_bookings follows the answers (exam-counter.ts): what live servers still owe lands first.
    await serversCountersSettled(cluster.servers, cluster.token)
    const comparison = await compareWithHubSpot(database.url, emulator.url)
    expect(comparison.mismatches).toEqual([])
    expect(comparison.bookings).toBe(writes.length)
    expect(comparison.confirmed).toBe(writes.length)
    // Every acknowledged write is there, under the HubSpot id the client was given.
    const inReplica = await withDb(
      database.url,
      async (client) =>
        (await client.query('SELECT booking_id, hubspot_id FROM public.hubspot_bookings WHERE deleted_at IS NULL'))
          .rows,
    )
    const byKey = new Map(inReplica.map((row) => [row.booking_id as string, row.hubspot_id as string]))
    const lostOrMoved = writes.filter((w) => byKey.get(w.bookingId) !== w.acked!.hubspotId)
    expect(lostOrMoved.map((w) => w.bookingId)).toEqual([])
    const intents = await withDb(
      database.url,
      async (client) =>
        (
          await client.query(
            `SELECT status, count(*)::int AS n, count(*) FILTER (WHERE result->>'recovered' = 'true')::int AS recovered FROM hubmirror.write_intents WHERE kind = 'booking.create' GROUP BY status`,
          )
        ).rows,
    )
    const intentCount = (status: string) => intents.find((row) => row.status === status)?.n ?? 0
    expect(intentCount('pending')).toBe(0)
    const recovered = intents.reduce((sum, row) => sum + row.recovered, 0)

    const killsBy = (what: string) =>
      killLog.filter((k) =>
        k.how.includes(
          what === 'crash point' ? 'crash point' : what === 'random moment' ? 'random moment' : 'HubSpot applied',
        ),
      ).length
    const retried = writes.filter((w) => w.acked!.round > 0).length
    const replayed = writes.filter((w) => w.acked!.replayed).length
    const figures = {
      writes: writes.length,
      exams: EXAMS,
      kills,
      killLog,
      restartsMs,
      attempts: writes.reduce((s, w) => s + w.attempts, 0),
      ackedAfterRestart: retried,
      replayed,
      recoveredIntents: recovered,
      failedIntents: intentCount('failed'),
      statuses: Object.fromEntries(statuses),
      hubspotBookings: comparison.bookings,
      replicaMismatches: comparison.mismatches.length,
      duplicates: comparison.duplicateKeysHubSpot + comparison.duplicateKeysReplica,
      emulatorRequests: emulator.stats().total,
    }
    console.log('crash figures', JSON.stringify(figures))
    recordFigures({
      scenario: 'crash',
      order: 1,
      title: 'Crash (kill -9)',
      load: `${fmt(writes.length)} concurrent booking writes over ${EXAMS} exams, 1 server process; ${fmt(retried)} writes answered only after a restart (${fmt(replayed)} as replays)`,
      faults: `${kills} kills mid-load: ${killsBy('crash point')} at the crash point between HubSpot's answer and the replica commit, ${killsBy('after HubSpot applied')} kill -9 right after HubSpot applied a batch upsert, ${killsBy('random moment')} kill -9 at a random moment; ${fmt(recovered)} orphaned intents recovered from HubSpot at restart`,
      checked: `replica = HubSpot object by object (${fmt(comparison.bookings)} bookings, ${comparison.exams} exams: id, hs_lastmodifieddate, booking_status, total_bookings); 0 duplicate booking_id; ${fmt(writes.length)}/${fmt(writes.length)} acknowledged writes present under the id returned; total_bookings = confirmed on both sides; 0 pending intents`,
      durationMs: Date.now() - started,
      figures: { ...figures, profile },
    })
  })
})

// One commit pipeline: a write's commit bumps the cache before realtime announces it, and the create answers before its exam counter push.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { RunningEmulator } from '../../src/emulator/index.js'
import type { EventSlice } from '../../src/realtime/log-entry.js'
import { countersSettled } from '../support/counters.js'
import { realPostgres, realRedis, testNamespace } from '../support/env.js'
import { startTestApp, startTestEmulator, type TestApp } from '../support/fixtures.js'
import { startHubSpotProxy, type HubSpotProxy } from '../support/hubspot-proxy.js'
import { hubspot } from '../support/hubspot-direct.js'

describe.skipIf(!realPostgres || !realRedis)(
  'commit pipeline: commit → cache bump → realtime, then the counter',
  () => {
    let emulator: RunningEmulator
    let proxy: HubSpotProxy
    let t: TestApp

    beforeAll(async () => {
      emulator = await startTestEmulator()
      // Between the app and HubSpot, so that a test can hold the exam counter's call in the air.
      proxy = await startHubSpotProxy(emulator.url)
      t = await startTestApp({
        emulator: { ...emulator, url: proxy.url },
        redisNamespace: testNamespace('commit'),
      })
    })
    afterAll(async () => {
      proxy.beforeReply = null
      await t?.close()
      await proxy?.close()
      await emulator?.close()
    })

    const newExam = async () => {
      const response = await t.api('POST', '/api/mock-exams', {
        mock_exam_name: 'Commit order',
        mock_type: 'Mini-mock',
        exam_date: '2026-12-14',
        start_time: '09:00',
        end_time: '11:00',
        location: 'Calgary',
        capacity: 20,
      })
      expect(response.statusCode, response.body).toBe(201)
      return response.json().exam.hubspot_id as string
    }
    const book = (examId: string, email: string) =>
      t.api('POST', '/api/bookings', { examId, student_name: 'Grace Hopper', student_email: email })
    const listed = async (examId: string) =>
      (await t.api('GET', `/api/mock-exams/${examId}/bookings`))
        .json()
        .bookings.map((b: { hubspot_id: string }) => b.hubspot_id)

    it('a subscriber told of a booking create reads it over REST at once, though the list was cached before', async () => {
      const examId = await newExam()
      expect(await listed(examId)).toEqual([])
      const hitsBefore = t.app.cache.stats.hits + t.app.cache.stats.sharedHits
      expect(await listed(examId)).toEqual([])
      // The empty list is served from the cache: a read that ignored the cache would prove nothing.
      expect(t.app.cache.stats.hits + t.app.cache.stats.sharedHits).toBe(hitsBefore + 1)

      // The subscriber reads the moment it hears of the booking, as a dashboard refreshing its list would.
      const readOnEvent: Array<Promise<string[]>> = []
      let heard!: () => void
      const heardBooking = new Promise<void>((resolve) => (heard = resolve))
      const subscription = t.app.realtime.subscribe({
        examIds: [examId],
        watch: false,
        onEvents: (slice: EventSlice) => {
          if (!slice.entries.some((entry) => entry.kind === 'booking')) return
          readOnEvent.push(listed(examId))
          heard()
        },
        onRefetch: () => undefined,
      })
      try {
        const created = await book(examId, 'grace@example.com')
        expect(created.statusCode, created.body).toBe(201)
        await heardBooking
        expect(readOnEvent).toHaveLength(1)
        expect(await readOnEvent[0]).toEqual([created.json().booking.hubspot_id])
      } finally {
        subscription.close()
      }
      // Its counter push must not be in the air when the next test holds one.
      await countersSettled(t.app)
    })

    it('answers the create while its exam counter push is still in the air, and the count lands after', async () => {
      const examId = await newExam()
      const counter = t.app.writes!.counter
      // Hold the counter's batch update (the create itself is a batch upsert) until the test lets it go.
      let release!: () => void
      const released = new Promise<void>((resolve) => (release = resolve))
      let reached!: () => void
      const counterHeld = new Promise<void>((resolve) => (reached = resolve))
      proxy.beforeReply = async (call) => {
        if (call.method !== 'POST' || !call.path.endsWith('/batch/update')) return
        reached()
        await released
      }
      try {
        const abandonedBefore = proxy.abandoned
        const created = await book(examId, 'held@example.com')
        expect(created.statusCode, created.body).toBe(201)
        // Not answered by giving up on the held call (the HubSpot client's deadline): nothing was abandoned.
        expect(proxy.abandoned - abandonedBefore).toBe(0)
        // Answered, and the push it owes is still pending: queued, or held at the proxy.
        expect(counter.pending()).toBe(1)
        await counterHeld
        expect(counter.pending()).toBe(1)
        const settled = countersSettled(t.app)
        release()
        await settled
        expect(counter.pending()).toBe(0)
      } finally {
        proxy.beforeReply = null
        release()
      }
      const inHubSpot = await hubspot<{ properties: Record<string, string> }>(
        emulator,
        'GET',
        `/crm/v3/objects/mock_exams/${examId}?properties=total_bookings`,
      )
      expect(inHubSpot.properties.total_bookings).toBe('1')
      expect((await t.api('GET', `/api/mock-exams/${examId}`)).json().exam.total_bookings).toBe(1)
    })
  },
)

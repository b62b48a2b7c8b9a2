// Changes made directly in HubSpot reach the read endpoints as soon as a pull answers; cursors, targeted pulls, search lag.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { HubSpotObject } from '../../src/hubspot/index.js'
import type { SyncEngine } from '../../src/sync/index.js'
import { bearer, startTestApp, type TestApp } from '../support/fixtures.js'
import { archiveObject, createObject, updateObject } from '../support/hubspot-direct.js'
import { expectReplicaMatches, hubspotObjects } from '../support/replica-check.js'

describe('sync: freshness', () => {
  let t: TestApp
  let sync: SyncEngine
  let exams: HubSpotObject[]
  let bookings: HubSpotObject[]

  beforeAll(async () => {
    t = await startTestApp({ emulator: { seed: 300 } })
    sync = t.app.sync!
    const result = await sync.backfill()
    expect(result).toMatchObject({ ran: true, rows: { exams: 3, bookings: 300 }, rateLimited: 0 })
    exams = await hubspotObjects(t.emulator!, 'exams')
    bookings = await hubspotObjects(t.emulator!, 'bookings')
  })
  afterAll(() => t.close())

  const get = (url: string) => t.app.http.inject({ method: 'GET', url, headers: bearer(t.token) })
  const pull = (body: unknown = {}) =>
    t.app.http.inject({ method: 'POST', url: '/api/sync/pull', headers: bearer(t.token), payload: body as object })
  const bookingIds = async (examId: string) =>
    (await get(`/api/mock-exams/${examId}/bookings`)).json().bookings.map((b: { hubspot_id: string }) => b.hubspot_id)

  it('backfills the replica to exactly what HubSpot holds', async () => {
    await expectReplicaMatches(t.app.db, t.emulator!)
    expect(await sync.isBackfilled()).toBe(true)
  })

  it('shows an update, a create and an archive made in HubSpot as soon as a pull answers', async () => {
    const exam = exams[0]
    const ofExam = bookings.filter((b) => b.properties.mock_exam_id === exam.id)
    // Warm the cache, so that the test also proves invalidation.
    expect((await get(`/api/mock-exams/${exam.id}`)).json().exam.mock_exam_name).toBe(exam.properties.mock_exam_name)
    expect(await bookingIds(exam.id)).toHaveLength(100)

    await updateObject(t.emulator!, 'exams', exam.id, { mock_exam_name: 'Renamed in HubSpot' })
    const created = await createObject(t.emulator!, 'bookings', {
      booking_id: 'BK-HS-NEW',
      mock_exam_id: exam.id,
      student_name: 'New Student',
      booking_status: 'confirmed',
      is_active: 'true',
    })
    await archiveObject(t.emulator!, 'bookings', ofExam[0].id)

    const response = await pull()
    expect(response.statusCode).toBe(200)
    expect(response.json()).toMatchObject({
      success: true,
      completed: true,
      result: { kind: 'incremental', objects: { exams: { changed: 1 }, bookings: { changed: 1, deleted: 1 } } },
    })
    expect((await get(`/api/mock-exams/${exam.id}`)).json().exam.mock_exam_name).toBe('Renamed in HubSpot')
    const ids = await bookingIds(exam.id)
    expect(ids).toContain(created.id)
    expect(ids).not.toContain(ofExam[0].id)
    await expectReplicaMatches(t.app.db, t.emulator!)
  })

  it('saves cursor = min(pull bound, newest seen), never "now"', async () => {
    const status = (await get('/api/sync/status')).json().status
    const newest = (await hubspotObjects(t.emulator!, 'bookings')).reduce(
      (max, b) => Math.max(max, Date.parse(b.properties.hs_lastmodifieddate!)),
      0,
    )
    expect(Date.parse(status.objects.bookings.cursor)).toBe(newest)
    expect(status.objects.bookings.rows).toBe(300)
  })

  it('pulls named exams and their bookings cheaply, leaving the cursors alone', async () => {
    const exam = exams[1]
    const ofExam = bookings.filter((b) => b.properties.mock_exam_id === exam.id)
    const before = (await get('/api/sync/status')).json().status.objects
    await updateObject(t.emulator!, 'bookings', ofExam[1].id, { booking_status: 'cancelled', is_active: 'false' })
    await archiveObject(t.emulator!, 'bookings', ofExam[2].id)
    await updateObject(t.emulator!, 'exams', exam.id, { capacity: '99' })
    const calls = t.emulator!.stats().total

    const response = await pull({ exam_ids: [exam.id] })
    expect(response.json()).toMatchObject({
      success: true,
      result: { kind: 'targeted', objects: { exams: { changed: 1 }, bookings: { changed: 1, deleted: 1 } } },
    })
    // One batch read of the exam, one search of its bookings, one batch read of the booking search no longer finds.
    expect(t.emulator!.stats().total - calls).toBe(3)
    expect((await get(`/api/mock-exams/${exam.id}`)).json().exam.capacity).toBe(99)
    const listed = (await get(`/api/mock-exams/${exam.id}/bookings`)).json().bookings
    expect(listed.find((b: { hubspot_id: string }) => b.hubspot_id === ofExam[1].id).booking_status).toBe('cancelled')
    expect(listed.map((b: { hubspot_id: string }) => b.hubspot_id)).not.toContain(ofExam[2].id)
    expect((await get('/api/sync/status')).json().status.objects).toMatchObject({
      exams: { cursor: before.exams.cursor },
      bookings: { cursor: before.bookings.cursor },
    })
  })

  it('catches a change search did not show yet on the next pull', async () => {
    t.emulator!.setSearchLagMs(1_500)
    try {
      const booking = bookings[250]
      await updateObject(t.emulator!, 'bookings', booking.id, { attendance: 'Yes' })
      const first = await sync.pull()
      expect(first.objects.bookings?.changed).toBe(0)
      await new Promise((resolve) => setTimeout(resolve, 1_600))
      const second = await sync.pull()
      expect(second.objects.bookings?.changed).toBe(1)
      const listed = (await get(`/api/mock-exams/${booking.properties.mock_exam_id}/bookings`)).json().bookings
      expect(listed.find((b: { hubspot_id: string }) => b.hubspot_id === booking.id).attendance).toBe('attended')
    } finally {
      t.emulator!.setSearchLagMs(0)
    }
  })

  it('never moves a row back in time, however often the same window is read', async () => {
    const pulls = await Promise.all([sync.pull(), sync.pull({ reason: 'cli' })])
    for (const result of pulls) expect(result.objects.bookings?.changed ?? 0).toBe(0)
    await expectReplicaMatches(t.app.db, t.emulator!)
  })
})

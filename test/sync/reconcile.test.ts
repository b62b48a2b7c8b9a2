// Reconcile finds planted drift (missing, extra, stale rows), saves the report, and --fix repairs it; the force-sync endpoint.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { issueToken } from '../../src/http/jwt.js'
import type { HubSpotObject } from '../../src/hubspot/index.js'
import { bearer, makeBooking, makeExam, startTestApp, type TestApp } from '../support/fixtures.js'
import { upsertBookings, upsertExams } from '../../src/replica/index.js'
import { archiveObject, updateObject } from '../support/hubspot-direct.js'
import { expectReplicaMatches, hubspotObjects } from '../support/replica-check.js'

describe('sync: reconcile and force sync', () => {
  let t: TestApp
  let exams: HubSpotObject[]
  let bookings: HubSpotObject[]

  beforeAll(async () => {
    t = await startTestApp({ emulator: { seed: 500 } })
    await t.app.sync!.backfill()
    exams = await hubspotObjects(t.emulator!, 'exams')
    bookings = await hubspotObjects(t.emulator!, 'bookings')
  })
  afterAll(() => t.close())

  const q = (sql: string, params: unknown[] = []) => t.app.db.query(sql, params)
  const inject = (method: 'GET' | 'POST', url: string, token = t.token) =>
    t.app.http.inject({ method, url, headers: bearer(token) })

  it('reports no drift on a fresh backfill, at about N/100 calls', async () => {
    const calls = t.emulator!.stats().total
    const report = await t.app.sync!.reconcile({ fix: false })
    expect(report).toMatchObject({ missing_in_replica: 0, extra_in_replica: 0, stale_in_replica: 0, fixed: 0 })
    expect(report.objects.bookings).toMatchObject({ hubspot_rows: 500, replica_rows: 500 })
    expect(t.emulator!.stats().total - calls).toBe(1 + 5)
  })

  it('finds planted drift, saves the report, and --fix repairs it', async () => {
    // Missing: a row lost from the replica, and a row wrongly marked deleted at the same version.
    await q('DELETE FROM public.hubspot_bookings WHERE hubspot_id = $1', [bookings[0].id])
    await q('UPDATE public.hubspot_mock_exams SET deleted_at = now() WHERE hubspot_id = $1', [exams[1].id])
    // Stale: changed in HubSpot behind the sync's back (no pull), and a replica row with a version from the future.
    await updateObject(t.emulator!, 'bookings', bookings[1].id, { student_name: 'Changed in HubSpot' })
    await q(
      `UPDATE public.hubspot_bookings SET hs_lastmodifieddate = now() + interval '1 day', student_name = 'corrupt' WHERE hubspot_id = $1`,
      [bookings[2].id],
    )
    // Extra: a row HubSpot never had, and one HubSpot archived without the replica hearing of it.
    const ghost = makeExam({ hubspot_id: '99000000001' })
    await t.app.db.transaction(async (tx) => {
      await upsertExams(tx, [ghost], 'manual')
      await upsertBookings(tx, [makeBooking(ghost, { hubspot_id: '99000000002' })], 'manual')
    })
    await archiveObject(t.emulator!, 'bookings', bookings[3].id)

    const report = await t.app.sync!.reconcile({ fix: false })
    expect(report).toMatchObject({ missing_in_replica: 2, extra_in_replica: 3, stale_in_replica: 2, fixed: 0 })
    expect(new Set(report.objects.bookings.samples.missing)).toEqual(new Set([bookings[0].id]))
    expect(new Set(report.objects.bookings.samples.stale)).toEqual(new Set([bookings[1].id, bookings[2].id]))
    expect(new Set(report.objects.bookings.samples.extra)).toEqual(new Set(['99000000002', bookings[3].id]))
    expect(report.objects.exams.samples).toEqual({ missing: [exams[1].id], extra: [ghost.hubspot_id], stale: [] })
    const status = (await inject('GET', '/api/sync/status')).json().status
    expect(status.drift).toEqual({
      checked_at: report.checked_at,
      missing_in_replica: 2,
      extra_in_replica: 3,
      stale_in_replica: 2,
      fixed: 0,
    })

    const fixed = await t.app.sync!.reconcile({ fix: true })
    expect(fixed.fixed).toBe(7)
    await expectReplicaMatches(t.app.db, t.emulator!)
    expect(await t.app.sync!.reconcile({ fix: false })).toMatchObject({
      missing_in_replica: 0,
      extra_in_replica: 0,
      stale_in_replica: 0,
    })
    expect((await inject('GET', '/api/sync/status')).json().status.drift).toMatchObject({
      missing_in_replica: 0,
      fixed: 0,
    })
  })

  it("force-syncs exams, and one exam's bookings, even over rows at the same version", async () => {
    const exam = exams[2]
    await q(`UPDATE public.hubspot_mock_exams SET location = 'corrupt' WHERE hubspot_id = $1`, [exam.id])
    await q(`UPDATE public.hubspot_bookings SET student_name = 'corrupt' WHERE mock_exam_id = $1`, [exam.id])
    const examsRes = await inject('POST', '/api/admin/sync/force?type=exams')
    expect(examsRes.statusCode).toBe(200)
    expect(examsRes.json()).toEqual({ success: true, message: 'Synced 5 exams', count: 5 })
    const bookingsRes = await inject('POST', `/api/admin/sync/force?type=bookings&examId=${exam.id}`)
    expect(bookingsRes.json()).toEqual({ success: true, message: 'Synced 100 bookings', count: 100 })
    await expectReplicaMatches(t.app.db, t.emulator!)
    const unknown = await inject('POST', '/api/admin/sync/force?type=bookings&examId=12345')
    expect(unknown.statusCode).toBe(404)
    expect(unknown.json().error).toMatchObject({ code: 'E_EXAM_NOT_FOUND', field: 'examId' })
  })

  it('answers 400 naming the field for anything else, and 403 without exams.edit', async () => {
    for (const [url, field] of [
      ['/api/admin/sync/force', 'type'],
      ['/api/admin/sync/force?type=contacts', 'type'],
      ['/api/admin/sync/force?type=bookings', 'examId'],
      ['/api/admin/sync/force?type=bookings&examId=abc', 'examId'],
    ] as const) {
      const response = await inject('POST', url)
      expect(response.statusCode, url).toBe(400)
      expect(response.json().error, url).toMatchObject({ code: 'E_VALIDATION', field })
    }
    const viewer = issueToken(t.app.config.jwtSecret, ['exams.view'])
    expect((await inject('POST', '/api/admin/sync/force?type=exams', viewer)).statusCode).toBe(403)
    expect((await inject('POST', '/api/sync/pull', viewer)).statusCode).toBe(403)
    expect((await inject('GET', '/api/sync/status', viewer)).statusCode).toBe(200)
  })

  it('validates the pull body', async () => {
    const pull = (payload: unknown) =>
      t.app.http.inject({ method: 'POST', url: '/api/sync/pull', headers: bearer(t.token), payload: payload as object })
    expect((await pull({ types: ['deals'] })).json().error).toMatchObject({ code: 'E_VALIDATION', field: 'types.0' })
    expect((await pull({ exam_ids: ['x'] })).json().error).toMatchObject({ code: 'E_VALIDATION', field: 'exam_ids.0' })
    expect((await pull({ nope: 1 })).statusCode).toBe(400)
    expect((await pull({ types: ['exams'] })).json()).toMatchObject({
      success: true,
      result: { kind: 'incremental', objects: { exams: {} } },
    })
    const bare = await t.app.http.inject({ method: 'POST', url: '/api/sync/pull', headers: bearer(t.token) })
    expect(bare.statusCode).toBe(200)
  })

  it("answers GET /api/sync/status in exactly the dashboard's shape", async () => {
    const { status } = (await inject('GET', '/api/sync/status')).json()
    // A reconcile ran earlier in this file, so its (finished) progress is reported too.
    expect(Object.keys(status).sort()).toEqual([
      'database',
      'drift',
      'hubspot',
      'lag_ms',
      'objects',
      'pulling',
      'reconcile',
      'watchers',
    ])
    expect(Object.keys(status.database).sort()).toEqual([
      'kind',
      'locks',
      'pool_mode',
      'pool_mode_detected_by',
      'wakeups',
    ])
    expect(status.database.kind).toBe(t.app.db.kind)
    expect(['session', 'transaction']).toContain(status.database.pool_mode)
    expect(status.reconcile).toMatchObject({ running: false, phase: null })
    expect(status.reconcile.listed).toBeGreaterThan(0)
    for (const type of ['exams', 'bookings']) {
      expect(Object.keys(status.objects[type]).sort()).toEqual(['cursor', 'last_pull_at', 'last_pull_ms', 'rows'])
      expect(status.objects[type].cursor).toMatch(/^\d{4}-\d{2}-\d{2}T/)
      expect(typeof status.objects[type].last_pull_ms).toBe('number')
    }
    expect(Object.keys(status.hubspot).sort()).toEqual([
      'base_url',
      'calls_total',
      'daily_limit',
      'limit_10s',
      'rate_limited_total',
      'search_limit_s',
      'used_10s',
      'used_daily',
    ])
    expect(status.hubspot).toMatchObject({
      base_url: t.emulator!.url,
      limit_10s: 190,
      search_limit_s: 5,
      daily_limit: 1_000_000,
      rate_limited_total: 0,
    })
    expect(Object.keys(status.drift).sort()).toEqual([
      'checked_at',
      'extra_in_replica',
      'fixed',
      'missing_in_replica',
      'stale_in_replica',
    ])
    expect(status.lag_ms).toBeGreaterThanOrEqual(0)
    expect(status).toMatchObject({ pulling: false, watchers: 0 })
  })
})

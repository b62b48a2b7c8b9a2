// A loop of pulls cannot spend the HubSpot budget: targeted pulls merge, each caller queues a few, force needs sync.run.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { issueToken } from '../../src/http/jwt.js'
import { bearer, startTestApp, type TestApp } from '../support/fixtures.js'
import { listAll } from '../support/hubspot-direct.js'

describe('pull limits', () => {
  let t: TestApp
  let examIds: string[]
  const calls = () => t.emulator!.stats().total
  const tokenOf = (subject: string, permissions = ['sync.run']) =>
    issueToken(t.app.config.jwtSecret, permissions, { subject })
  const pull = (token: string, body: unknown) =>
    t.app.http.inject({ method: 'POST', url: '/api/sync/pull', headers: bearer(token), payload: body as object })
  const forceBookings = (token: string, examId: string) =>
    t.app.http.inject({
      method: 'POST',
      url: `/api/admin/sync/force?type=bookings&examId=${examId}`,
      headers: bearer(token),
    })

  beforeAll(async () => {
    t = await startTestApp({ emulator: { seed: 2_000 } })
    await t.app.sync!.backfill()
    examIds = (await listAll(t.emulator!, 'exams', ['hs_object_id'])).map((exam) => exam.id)
  })
  afterAll(async () => {
    t.emulator?.clearFaults()
    await t.close()
  })

  it('merges targeted pulls asked for while one runs into one more pull', async () => {
    // Slow HubSpot, so that the first pull is still running when the others arrive.
    t.emulator!.setFaults({ latencyMs: 150 })
    const before = calls()
    const answers = await Promise.all(
      examIds.slice(0, 20).map((id, i) => pull(tokenOf(`user-${i}`), { exam_ids: [id] })),
    )
    t.emulator!.clearFaults()
    expect(answers.map((a) => a.statusCode)).toEqual(Array(20).fill(200))
    const started = new Set(answers.map((a) => JSON.stringify(a.json().result.objects)))
    // The first pull alone, then one pull of the other 19 exams together.
    expect(started.size).toBeLessThanOrEqual(2)
    const spent = calls() - before
    console.log(`20 targeted pulls of different exams: ${spent} HubSpot calls`)
    // Unmerged: 20 pulls of a batch read and a search each (40 calls). Merged: the first (2) and
    // one of 19 exams: a batch read and 1,900 bookings at 200 a search page (11).
    expect(spent).toBeLessThanOrEqual(14)
  })

  it("never refuses one dashboard's Refresh clicks: joining a queued pull is not one more pull", async () => {
    // Slow HubSpot, so that each round's first pull is still running when the others arrive.
    t.emulator!.setFaults({ latencyMs: 150 })
    const dashboard = tokenOf('dashboard')
    try {
      // Full pulls: one runs, one queues, the other six join the queued one.
      const full = await Promise.all(Array.from({ length: 8 }, () => pull(dashboard, {})))
      // Targeted pulls of different exams: one runs, the others are merged into one queued pull.
      const targeted = await Promise.all(examIds.slice(0, 8).map((id) => pull(dashboard, { exam_ids: [id] })))
      const codes = (answers: typeof full) => answers.map((a) => `${a.statusCode} ${a.json().error?.code ?? ''}`.trim())
      expect(codes(full)).toEqual(Array(8).fill('200'))
      expect(codes(targeted)).toEqual(Array(8).fill('200'))
      // All eight asked once: the bound is back to nothing, so four new pulls of their own are taken.
      const again = await Promise.all(examIds.slice(10, 14).map((id) => forceBookings(dashboard, id)))
      expect(codes(again)).toEqual(Array(4).fill('200'))
    } finally {
      t.emulator!.clearFaults()
    }
  })

  it('refuses a caller more than HUBMIRROR_MAX_QUEUED_PULLS pulls of its own with 429', async () => {
    t.emulator!.setFaults({ latencyMs: 150 })
    const looper = tokenOf('looper')
    // Force syncs of different exams cannot be merged: each is HubSpot work this caller started.
    const answers = await Promise.all(examIds.slice(12, 19).map((id) => forceBookings(looper, id)))
    t.emulator!.clearFaults()
    const statuses = answers.map((a) => a.statusCode).sort()
    expect(statuses).toEqual([200, 200, 200, 200, 429, 429, 429])
    const refused = answers.find((a) => a.statusCode === 429)!
    expect(refused.json().error).toMatchObject({ code: 'E_TOO_MANY_PULLS', details: { limit: 4 } })
    expect(refused.headers['retry-after']).toBe('5')
    // Another caller is not held back by the looper's bound, and joining the looper's pull is free.
    expect((await forceBookings(tokenOf('bystander'), examIds[12])).statusCode).toBe(200)
    // Answered, the caller may pull again.
    expect((await pull(looper, { exam_ids: [examIds[0]] })).statusCode).toBe(200)
  })

  it('shows the HubSpot budget per priority on /metrics', async () => {
    const text = (await t.api('GET', '/metrics')).body
    const value = (name: string, priority: string) =>
      Number(new RegExp(`^${name}\\{priority="${priority}"\\} (\\S+)`, 'm').exec(text)?.[1] ?? NaN)
    // The backfill spent bulk slots and the pulls above demand slots; nobody waits now.
    expect(value('hubmirror_hubspot_budget_granted_total', 'bulk')).toBeGreaterThan(0)
    expect(value('hubmirror_hubspot_budget_granted_total', 'demand')).toBeGreaterThan(0)
    for (const priority of ['write', 'demand', 'background', 'bulk']) {
      expect(value('hubmirror_hubspot_budget_waiting', priority), priority).toBe(0)
      expect(value('hubmirror_hubspot_budget_wait_seconds_total', priority), priority).toBeGreaterThanOrEqual(0)
      expect(value('hubmirror_hubspot_budget_held_back_total', priority), priority).toBeGreaterThanOrEqual(0)
    }
  })

  it('needs sync.run for force sync, and merges repeats of one', async () => {
    const editor = tokenOf('editor', ['exams.view', 'exams.edit'])
    const force = (token: string) =>
      t.app.http.inject({ method: 'POST', url: '/api/admin/sync/force?type=exams', headers: bearer(token) })
    const denied = await force(editor)
    expect(denied.statusCode).toBe(403)
    expect(denied.json().error.message).toMatch(/sync\.run/)
    t.emulator!.setFaults({ latencyMs: 100 })
    const before = calls()
    const answers = await Promise.all([1, 2, 3].map((i) => force(tokenOf(`admin-${i}`))))
    t.emulator!.clearFaults()
    expect(answers.map((a) => a.statusCode)).toEqual([200, 200, 200])
    const oneRun = answers[0].json().count
    // At most two re-lists (the running one and the one the others joined), not three.
    expect(calls() - before).toBeLessThanOrEqual(2 * (Math.ceil(oneRun / 100) + 1))
  })
})

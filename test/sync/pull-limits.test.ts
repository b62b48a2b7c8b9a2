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

  it('refuses a caller more than HUBMIRROR_MAX_QUEUED_PULLS outstanding pulls with 429', async () => {
    t.emulator!.setFaults({ latencyMs: 150 })
    const looper = tokenOf('looper')
    const answers = await Promise.all(Array.from({ length: 7 }, (_, i) => pull(looper, { exam_ids: [examIds[i]] })))
    t.emulator!.clearFaults()
    const statuses = answers.map((a) => a.statusCode).sort()
    expect(statuses).toEqual([200, 200, 200, 200, 429, 429, 429])
    const refused = answers.find((a) => a.statusCode === 429)!
    expect(refused.json().error).toMatchObject({ code: 'E_TOO_MANY_PULLS', details: { limit: 4 } })
    expect(refused.headers['retry-after']).toBe('5')
    // Answered, the caller may pull again.
    expect((await pull(looper, { exam_ids: [examIds[0]] })).statusCode).toBe(200)
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

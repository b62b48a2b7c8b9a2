// SSE at /api/events: the wire format, the exam filter, resume by Last-Event-ID, refetch, auth, shutdown.
import { describe, expect, it } from 'vitest'
import { issueToken } from '../../src/http/jwt.js'
import { headSeq, pruneEvents } from '../../src/replica/index.js'
import { bearer, makeExam, type TestApp } from '../support/fixtures.js'
import { connectSse, connectWs, seqs, wsUrl, listeningApp } from '../support/streams.js'

describe('SSE /api/events', () => {
  const examA = makeExam()
  const examB = makeExam()
  const events = (query = '') => `${live.url}/api/events?access_token=${live.t.token}${query}`
  const live = listeningApp([examA, examB], { realtime: { heartbeatMs: 100 } })
  const book = (exam = examA, n = 1) => live.book(exam, n)

  it('speaks the protocol: headers, retry, ready with the head, then id: seq / event: change', async () => {
    const sse = await connectSse(events())
    expect(sse.status).toBe(200)
    expect(sse.headers.get('content-type')).toBe('text/event-stream')
    expect(sse.headers.get('cache-control')).toBe('no-cache')
    expect(sse.headers.get('x-accel-buffering')).toBe('no')
    const ready = await sse.waitForEvent('ready')
    expect(sse.text().startsWith('retry: 2000\n')).toBe(true)
    expect(JSON.parse(ready.data)).toEqual({ seq: await headSeq(live.t.app.db) })
    const [written] = await book()
    await sse.waitFor((s) => s.changes().length === 1)
    expect(sse.text()).toContain(`id: ${written.seq}\nevent: change\ndata: ${JSON.stringify(sse.changes()[0])}\n\n`)
    expect(sse.changes()[0]).toMatchObject({
      seq: written.seq,
      kind: 'booking',
      op: 'upsert',
      exam_id: examA.hubspot_id,
      hubspot_id: written.hubspot_id,
    })
    expect(sse.messages.find((m) => m.event === 'change')?.id).toBe(written.seq)
    sse.close()
  })

  it('filters by exam (exam_ids=a,b and repeated exam_id=)', async () => {
    const onlyA = await connectSse(events(`&exam_ids=${examA.hubspot_id}`))
    const onlyB = await connectSse(events(`&exam_id=${examB.hubspot_id}`))
    const both = await connectSse(events(`&exam_id=${examA.hubspot_id}&exam_id=${examB.hubspot_id}`))
    await Promise.all([onlyA, onlyB, both].map((s) => s.waitForEvent('ready')))
    const written = [...(await book(examA, 2)), ...(await book(examB, 1)), ...(await book(examA, 1))]
    await both.waitFor((s) => s.changes().length === 4)
    await onlyA.waitFor((s) => s.changes().length === 3)
    await onlyB.waitFor((s) => s.changes().length === 1)
    expect(seqs(both.changes())).toEqual(seqs(written))
    expect(onlyA.changes().every((e) => e.exam_id === examA.hubspot_id)).toBe(true)
    expect(onlyB.changes().map((e) => e.exam_id)).toEqual([examB.hubspot_id])
    for (const s of [onlyA, onlyB, both]) s.close()
  })

  it('resumes from Last-Event-ID with nothing lost and nothing doubled, even while writes race the backlog', async () => {
    const first = await connectSse(events())
    await first.waitForEvent('ready')
    await book(examA, 3)
    await first.waitFor((s) => s.changes().length === 3)
    const lastSeen = first.changes()[2].seq
    first.close()

    const missed = await book(examA, 40)
    // Writers keep going while the resumed stream reads its backlog and joins the live stream.
    const racing = Promise.all(Array.from({ length: 20 }, () => book(examA, 1)))
    // Last-Event-ID wins over ?after=.
    const resumed = await connectSse(events('&after=1'), { 'last-event-id': lastSeen })
    const raced = (await racing).flat()
    const expected = [...seqs(missed), ...seqs(raced)].sort((a, b) => Number(a) - Number(b))
    await resumed.waitFor((s) => s.changes().length >= expected.length)
    await new Promise((resolve) => setTimeout(resolve, 50))
    expect(seqs(resumed.changes())).toEqual(expected)
    expect(resumed.messages.filter((m) => m.event === 'ready')).toHaveLength(1)
    resumed.close()
  })

  it('sends heartbeats', async () => {
    const sse = await connectSse(events())
    await sse.waitFor((s) => s.comments.includes('hb'), 2_000)
    sse.close()
  })

  it('counts open streams as watchers', async () => {
    // Streams closed by earlier tests may still be counted until the server sees them go.
    await expect.poll(() => live.t.app.realtime.watcherCount()).toBe(0)
    const counts: number[] = []
    const off = live.t.app.realtime.onWatchersChanged((count) => counts.push(count))
    const before = 0
    const sse = await connectSse(events())
    await sse.waitForEvent('ready')
    expect(live.t.app.realtime.watcherCount()).toBe(before + 1)
    sse.close()
    await sse.ended
    await expect.poll(() => live.t.app.realtime.watcherCount()).toBe(before)
    expect(counts).toEqual([before + 1, before])
    off()
  })

  it('rejects bad cursors and filters with a 400, and checks the token (header or ?access_token=)', async () => {
    expect((await fetch(`${live.url}/api/events`)).status).toBe(401)
    expect((await fetch(`${live.url}/api/events?access_token=garbage`)).status).toBe(401)
    const noView = issueToken(live.t.app.config.jwtSecret, ['bookings.edit'])
    const forbidden = await fetch(`${live.url}/api/events?access_token=${noView}`)
    expect(forbidden.status).toBe(403)
    expect((await forbidden.json()).error.code).toBe('E_FORBIDDEN')
    const viaHeader = await connectSse(`${live.url}/api/events`, bearer(live.t.token))
    expect(viaHeader.status).toBe(200)
    viaHeader.close()
    for (const [query, headers, field] of [
      ['&after=abc', {}, 'after'],
      ['&exam_ids=1,x', {}, 'exam_ids.1'],
      ['', { 'last-event-id': '12; DROP' }, 'Last-Event-ID'],
    ] as const) {
      const response = await fetch(events(query), { headers })
      expect(response.status, query).toBe(400)
      expect((await response.json()).error).toMatchObject({ code: 'E_VALIDATION', field })
    }
  })

  it('answers refetch (then closes) to a cursor beyond the head, and to one older than retention', async () => {
    const ahead = await connectSse(events('&after=999999999'))
    const refetch = await ahead.waitForEvent('refetch')
    expect(JSON.parse(refetch.data)).toEqual({ seq: await headSeq(live.t.app.db) })
    await ahead.ended

    await book(examA, 5)
    expect(await pruneEvents(live.t.app.db, 0, 2)).toBeGreaterThan(0)
    const old = await connectSse(events('&after=1'))
    const expired = await old.waitForEvent('refetch')
    expect(JSON.parse(expired.data).seq).toBe(await headSeq(live.t.app.db))
    await old.ended
    expect(old.changes()).toEqual([])
  })

  it('ends every stream promptly when the app closes', async () => {
    const sse = await connectSse(events())
    await sse.waitForEvent('ready')
    const ws = await connectWs(wsUrl(live.url, `/api/ws?access_token=${live.t.token}`))
    ws.send({ type: 'subscribe', exam_ids: [examA.hubspot_id] })
    await ws.waitForType('ready')
    const poll = fetch(
      `${live.url}/api/long-poll?after=${await headSeq(live.t.app.db)}&access_token=${live.t.token}`,
    ).then(
      (r) => r.status,
      (e) => e,
    )
    await new Promise((resolve) => setTimeout(resolve, 50))
    const app = live.t
    live.t = undefined as unknown as TestApp
    // Promptly = without waiting out any stream: not the long-poll's 25 s hold, nor a heartbeat, nor
    // a client hanging up. The test's 15 s timeout (below) fails a close that waits for the hold;
    // no stopwatch, which a busy machine would trip.
    await app.close()
    await sse.ended
    expect((await ws.closed).code).toBe(1001)
    expect(await poll).toBe(200)
  }, 15_000)
})

// The public seats-left snapshot and stream: no token, counts only (every frame read), ETag/304, resume, per-IP cap.
import { request as httpRequest } from 'node:http'
import { describe, expect, it } from 'vitest'
import { deps } from '../../src/cache/index.js'
import { PUBLIC_ROUTES } from '../../src/http/auth.js'
import { pruneEvents, upsertBookings } from '../../src/replica/index.js'
import { makeBooking, makeExam } from '../support/fixtures.js'
import { commit, connectSse, listeningApp, type SseConnection } from '../support/streams.js'

const SEATS_KEYS = ['booked', 'capacity', 'exam_id', 'seats_left', 'seq']
/** Names a booking carries that must never reach a public page. */
const PRIVATE = ['student', 'email', 'contact', 'booking_id', 'hubspot_id', 'dominant_hand', 'attend', '"row"']

describe('public seats left', () => {
  const exam = makeExam({ capacity: 5 })
  const other = makeExam()
  const live = listeningApp([exam, other], {
    env: { HUBMIRROR_PUBLIC_STREAMS_PER_IP: '3' },
    realtime: { heartbeatMs: 100 },
  })
  const seatsUrl = (id = exam.hubspot_id) => `${live.url}/api/public/exams/${id}/seats`
  const eventsUrl = (id = exam.hubspot_id) => `${seatsUrl(id)}/events`
  const seatFrames = (sse: SseConnection) => sse.messages.filter((m) => m.event === 'seats')
  /** Every message of the stream: only `seats` and `ready`, with exactly the public keys, and no private name anywhere. */
  const assertPublicOnly = (sse: SseConnection) => {
    for (const name of PRIVATE) expect(sse.text()).not.toContain(name)
    for (const message of sse.messages) {
      expect(['seats', 'ready']).toContain(message.event)
      const data = JSON.parse(message.data) as Record<string, unknown>
      expect(Object.keys(data).sort()).toEqual(message.event === 'seats' ? SEATS_KEYS : ['seq'])
      if (message.event === 'seats') expect(message.id).toBe(data.seq)
    }
  }

  it('is a deliberate, documented public list: no token needed, nothing else opened', async () => {
    expect([...live.t.app.http.publicRoutes].sort()).toEqual([...PUBLIC_ROUTES].sort())
    const doc = (await live.t.app.http.inject('/docs/json')).json()
    expect(Object.keys(doc.paths)).toEqual(
      expect.arrayContaining(['/api/public/exams/{id}/seats', '/api/public/exams/{id}/seats/events']),
    )
    expect(doc.paths['/api/public/exams/{id}/seats'].get.security).toEqual([])
    // The token-holding routes stay closed to the same anonymous caller.
    expect((await fetch(`${live.url}/api/mock-exams/${exam.hubspot_id}/bookings`)).status).toBe(401)
  })

  it('answers a snapshot with counts only, an ETag, and 304 until a seat changes', async () => {
    await live.book(exam, 2)
    await commit(live.t.app, (tx) =>
      upsertBookings(tx, [makeBooking(exam, { booking_status: 'cancelled', is_active: 'false' })], 'write'),
    )
    const first = await fetch(seatsUrl())
    expect(first.status).toBe(200)
    expect(first.headers.get('cache-control')).toMatch(/^public, max-age=\d+/)
    expect(first.headers.get('access-control-allow-origin')).toBe('*')
    const body = (await first.json()) as Record<string, unknown>
    expect(Object.keys(body).sort()).toEqual(SEATS_KEYS)
    expect(body).toMatchObject({ exam_id: exam.hubspot_id, capacity: 5, booked: 2, seats_left: 3 })
    const etag = first.headers.get('etag')!
    expect(etag).toBe(`"${String(body.seq)}"`)

    const again = await fetch(seatsUrl(), { headers: { 'if-none-match': etag } })
    expect(again.status).toBe(304)
    expect(await again.text()).toBe('')
    // A change to another exam leaves this one's tag alone.
    await live.book(other)
    expect((await fetch(seatsUrl(), { headers: { 'if-none-match': `W/${etag}, "x"` } })).status).toBe(304)

    await live.book(exam)
    // As the write path and the sync do after their commits (live.book writes the replica directly).
    await live.t.app.cache.invalidate([deps.exam(exam.hubspot_id)])
    const changed = await fetch(seatsUrl(), { headers: { 'if-none-match': etag } })
    expect(changed.status).toBe(200)
    expect(changed.headers.get('etag')).not.toBe(etag)
    expect(await changed.json()).toMatchObject({ booked: 3, seats_left: 2 })
  })

  it('answers 404 for an unknown exam and 400 for a malformed id or cursor, on both routes', async () => {
    for (const url of [seatsUrl('99999999999'), eventsUrl('99999999999')]) {
      const response = await fetch(url)
      expect(response.status).toBe(404)
      expect((await response.json()).error.code).toBe('E_EXAM_NOT_FOUND')
    }
    const bad = await fetch(`${live.url}/api/public/exams/abc/seats`)
    expect(bad.status).toBe(400)
    expect((await bad.json()).error.code).toBe('E_VALIDATION')
    const badCursor = await fetch(eventsUrl(), { headers: { 'last-event-id': 'x' } })
    expect(badCursor.status).toBe(400)
    expect((await badCursor.json()).error.field).toBe('Last-Event-ID')
  })

  it('streams the counts now and on each change, and no booking field in any frame', async () => {
    const sse = await connectSse(eventsUrl())
    expect(sse.status).toBe(200)
    expect(sse.headers.get('content-type')).toBe('text/event-stream')
    await sse.waitFor(() => sse.messages.some((m) => m.event === 'ready'))
    const start = JSON.parse(seatFrames(sse)[0].data) as { booked: number }
    await live.book(exam)
    await sse.waitFor(() => seatFrames(sse).length === 2)
    // A booking that holds no seat changes no count: no frame for it.
    await commit(live.t.app, (tx) =>
      upsertBookings(tx, [makeBooking(exam, { booking_status: 'cancelled', is_active: 'false' })], 'write'),
    )
    await live.book(other)
    await live.book(exam)
    await sse.waitFor(() => seatFrames(sse).length === 3)
    expect(seatFrames(sse).map((m) => JSON.parse(m.data).booked)).toEqual([
      start.booked,
      start.booked + 1,
      start.booked + 2,
    ])
    expect(JSON.parse(seatFrames(sse)[2].data)).toMatchObject({ capacity: 5, seats_left: 5 - start.booked - 2 })
    // Heartbeats arrive as comments; nothing else but seats and ready ever does.
    await sse.waitFor(() => sse.comments.length > 0)
    assertPublicOnly(sse)
    sse.close()
  })

  it('resumes from Last-Event-ID: the current counts only when newer, refetch when the cursor is too old or ahead', async () => {
    const first = await connectSse(eventsUrl())
    await first.waitFor(() => seatFrames(first).length === 1)
    const id = seatFrames(first)[0].id!
    first.close()
    const same = await connectSse(eventsUrl(), { 'last-event-id': id })
    await same.waitFor(() => same.messages.some((m) => m.event === 'ready'))
    expect(seatFrames(same)).toEqual([])
    await live.book(exam)
    await same.waitFor(() => seatFrames(same).length === 1)
    assertPublicOnly(same)
    same.close()

    const ahead = await connectSse(eventsUrl(), { 'last-event-id': '999999999' })
    await ahead.ended
    expect(ahead.messages.map((m) => m.event)).toEqual(['refetch'])
    await pruneEvents(live.t.app.db, 0, 1)
    const old = await connectSse(eventsUrl(), { 'last-event-id': '1' })
    await old.ended
    expect(old.messages.map((m) => m.event)).toEqual(['refetch'])
  })

  it('refuses past the per-IP cap with 429, counts each address apart, and frees the slot on close', async () => {
    const held = await Promise.all([1, 2, 3].map(() => connectSse(eventsUrl())))
    for (const sse of held) expect(sse.status).toBe(200)
    const refused = await fetch(eventsUrl())
    expect(refused.status).toBe(429)
    expect(refused.headers.get('retry-after')).toBeTruthy()
    expect((await refused.json()).error).toMatchObject({ code: 'E_TOO_MANY_STREAMS', details: { scope: 'subject' } })
    // Another address on the same host is another viewer.
    expect(await statusFrom(eventsUrl(), '127.0.0.2')).toBe(200)
    held[0].close()
    await held[0].ended
    let status = 429
    for (let i = 0; i < 200 && status === 429; i++) {
      const response = await fetch(eventsUrl())
      status = response.status
      if (status === 429) await response.body?.cancel()
      else await response.body?.cancel()
      if (status === 429) await new Promise((resolve) => setTimeout(resolve, 10))
    }
    expect(status).toBe(200)
    for (const sse of held) sse.close()
  })
})

/** The status line of a GET sent from this local address; the connection is dropped after it. */
function statusFrom(url: string, localAddress: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const request = httpRequest(url, { localAddress }, (response) => {
      resolve(response.statusCode ?? 0)
      response.destroy()
    })
    request.on('error', reject)
    request.end()
  })
}

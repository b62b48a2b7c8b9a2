// Streams end with their token: SSE reauth, WebSocket 4401, graphql-ws 4401, long-poll bounded; refreshed ones lose nothing.
import WebSocket from 'ws'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { subscribeChanges } from '../../src/client/index.js'
import type { ChangeEvent } from '../../src/model/records.js'
import { issueToken } from '../../src/http/jwt.js'
import { headSeq, upsertBookings, upsertExams } from '../../src/replica/index.js'
import { makeBooking, makeExam, startTestApp, type TestApp } from '../support/fixtures.js'
import { commit, connectSse, connectWs, seqs, wsUrl } from '../support/streams.js'

const TTL_SECONDS = 5
/** How late after `exp` a stream may end (the issue's bound). */
const GRACE_MS = 2_000

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))
const expOf = (token: string) =>
  (JSON.parse(Buffer.from(token.split('.')[1], 'base64url').toString('utf8')) as { exp: number }).exp * 1000

/** A minimal graphql-transport-ws peer, so the test can send the refresh ping itself. */
function graphqlSocket(url: string, token: string, examId: string, after: string) {
  const socket = new WebSocket(url, 'graphql-transport-ws')
  const updates: string[] = []
  const closed = new Promise<{ code: number; at: number }>((resolve) =>
    socket.on('close', (code) => resolve({ code, at: Date.now() })),
  )
  const acked = new Promise<void>((resolve, reject) => {
    socket.on('error', reject)
    socket.on('open', () => socket.send(JSON.stringify({ type: 'connection_init', payload: { access_token: token } })))
    socket.on('message', (data) => {
      const message = JSON.parse(String(data)) as {
        type: string
        payload?: { data?: { bookingUpdated: { seq: string } } }
      }
      if (message.type === 'connection_ack') {
        socket.send(
          JSON.stringify({
            id: '1',
            type: 'subscribe',
            payload: { query: `subscription { bookingUpdated(examId: "${examId}", after: "${after}") { seq } }` },
          }),
        )
        resolve()
      }
      if (message.type === 'next' && message.payload?.data) updates.push(message.payload.data.bookingUpdated.seq)
    })
  })
  return {
    acked,
    closed,
    updates,
    refresh: (fresh: string) => socket.send(JSON.stringify({ type: 'ping', payload: { access_token: fresh } })),
    close: () => socket.close(),
  }
}

describe('streams end with their token', () => {
  let t: TestApp
  let url: string
  const exam = makeExam()
  const book = async (n = 1) =>
    commit(t.app, (tx) =>
      upsertBookings(
        tx,
        Array.from({ length: n }, () => makeBooking(exam)),
        'write',
      ),
    )
  const shortToken = () => issueToken(t.app.config.jwtSecret, ['exams.view', 'sync.run'], { ttlSeconds: TTL_SECONDS })
  const freshToken = (permissions = ['exams.view']) =>
    issueToken(t.app.config.jwtSecret, permissions, { ttlSeconds: 3_600 })

  beforeAll(async () => {
    t = await startTestApp()
    url = await t.app.listen()
    await commit(t.app, (tx) => upsertExams(tx, [exam], 'manual'))
  })
  afterAll(() => t.close())

  it('closes every transport within 2 s of expiry: SSE reauth, WebSocket 4401, graphql-ws 4401, long-poll answered', async () => {
    const token = shortToken()
    const expiresAt = expOf(token)
    const from = await headSeq(t.app.db)
    const sse = await connectSse(`${url}/api/events?exam_id=${exam.hubspot_id}`, { authorization: `Bearer ${token}` })
    const ws = await connectWs(wsUrl(url, `/api/ws?access_token=${token}`))
    ws.send({ type: 'subscribe', exam_ids: [exam.hubspot_id] })
    const gql = graphqlSocket(wsUrl(url, '/graphql'), token, exam.hubspot_id, from)
    await gql.acked
    await ws.waitForType('ready')
    expect(ws.messages[0]).toMatchObject({ type: 'connected', expires_at: expiresAt })
    await sse.waitForEvent('ready')
    const written = await book(2)
    await sse.waitFor((c) => c.changes().length === 2)
    // Waits for changes after the head: none come, so only the token's expiry ends the wait.
    const poll = fetch(`${url}/api/long-poll?after=${await headSeq(t.app.db)}&exam_ids=${exam.hubspot_id}`, {
      headers: { authorization: `Bearer ${token}` },
    }).then(async (res) => ({ status: res.status, body: await res.json(), at: Date.now() }))

    await sse.ended
    const sseEnded = Date.now()
    const [wsClosed, gqlClosed, polled] = await Promise.all([ws.closed, gql.closed, poll])
    const wsAt = Date.now()
    for (const [name, at] of [
      ['SSE', sseEnded],
      ['graphql-ws', gqlClosed.at],
      ['long-poll', polled.at],
    ] as const) {
      expect(at - expiresAt, name).toBeGreaterThanOrEqual(-50)
      expect(at - expiresAt, name).toBeLessThanOrEqual(GRACE_MS)
    }
    expect(wsAt - expiresAt).toBeLessThanOrEqual(GRACE_MS)
    const reauth = sse.messages.at(-1)!
    expect(reauth.event).toBe('reauth')
    expect(JSON.parse(reauth.data)).toMatchObject({ reason: 'token expired', seq: written[1].seq })
    expect(wsClosed.code).toBe(4401)
    expect(ws.messages.at(-1)).toMatchObject({ type: 'error', code: 'E_UNAUTHORIZED' })
    expect(gqlClosed.code).toBe(4401)
    expect(gql.updates).toEqual(seqs(written))
    expect(polled).toMatchObject({ status: 200, body: { success: true, events: [] } })
    // The expired token opens nothing new.
    expect((await fetch(`${url}/api/events`, { headers: { authorization: `Bearer ${token}` } })).status).toBe(401)
  })

  it('keeps a WebSocket and a graphql-ws connection streaming past expiry once refreshed, with nothing lost', async () => {
    const token = shortToken()
    const expiresAt = expOf(token)
    const from = await headSeq(t.app.db)
    const ws = await connectWs(wsUrl(url, `/api/ws?access_token=${token}`))
    ws.send({ type: 'subscribe', exam_ids: [exam.hubspot_id], after: from })
    await ws.waitForType('ready')
    const gql = graphqlSocket(wsUrl(url, '/graphql'), token, exam.hubspot_id, from)
    await gql.acked
    const before = await book(3)
    // The first token may sync (this app has no sync engine: 503); after the refresh it may not (403).
    ws.send({ type: 'sync_request', exam_ids: [exam.hubspot_id] })
    expect(await ws.waitForType('error')).toMatchObject({ code: 'E_NOT_READY' })
    // A refused refresh changes nothing; a good one moves the deadline and the permissions on.
    ws.send({ type: 'auth', token: 'garbage' })
    expect(await ws.waitForType('error')).toMatchObject({ code: 'E_UNAUTHORIZED' })
    ws.send({ type: 'auth', token: freshToken(['exams.view']) })
    expect(await ws.waitForType('auth_ok')).toMatchObject({ type: 'auth_ok' })
    gql.refresh(freshToken())
    // sync_request now uses the fresh token's grants (no sync.run), not the first token's.
    ws.send({ type: 'sync_request', exam_ids: [exam.hubspot_id] })
    expect(await ws.waitForType('error')).toMatchObject({ code: 'E_FORBIDDEN' })
    await sleep(Math.max(0, expiresAt - Date.now()) + GRACE_MS + 300)
    const after = await book(3)
    await ws.waitFor(() => ws.changes().length === 6)
    expect(seqs(ws.changes())).toEqual(seqs([...before, ...after]))
    await sleep(100)
    expect(gql.updates).toEqual(seqs([...before, ...after]))
    expect(ws.socket.readyState).toBe(WebSocket.OPEN)
    ws.close()
    gql.close()
  })

  it('an SSE reader reconnects with a fresh token and Last-Event-ID and loses nothing', async () => {
    const token = shortToken()
    const from = await headSeq(t.app.db)
    const first = await connectSse(`${url}/api/events?exam_id=${exam.hubspot_id}&after=${from}`, {
      authorization: `Bearer ${token}`,
    })
    const during = await book(2)
    await first.ended
    expect(first.messages.at(-1)?.event).toBe('reauth')
    const lastId = first.messages.filter((m) => m.event === 'change').at(-1)!.id!
    // Written while the reader was between connections.
    const gap = await book(2)
    const second = await connectSse(`${url}/api/events?exam_id=${exam.hubspot_id}`, {
      authorization: `Bearer ${freshToken()}`,
      'last-event-id': lastId,
    })
    await second.waitFor((c) => c.changes().length === 2)
    expect(seqs([...first.changes(), ...second.changes()])).toEqual(seqs([...during, ...gap]))
    second.close()
  })

  it('hubmirror/client refreshes ahead of expiry from its token source and resumes from its cursor', async () => {
    let current = shortToken()
    const expiresAt = expOf(current)
    const received: ChangeEvent[] = []
    const errors: unknown[] = []
    const from = await headSeq(t.app.db)
    const opened: number[] = []
    const subscription = subscribeChanges({
      baseUrl: url,
      token: () => current,
      fetch: (input, init) => {
        if (String(input).includes('/api/events')) opened.push(Date.now())
        return fetch(input, init)
      },
      examIds: [exam.hubspot_id],
      after: from,
      onEvent: (event) => received.push(event),
      onRefetch: () => undefined,
      onError: (error) => errors.push(error),
    })
    const before = await book(2)
    // The application's auth library refreshes the session shortly before expiry.
    await sleep(Math.max(0, expiresAt - Date.now() - 2_500))
    current = freshToken()
    await sleep(Math.max(0, expiresAt - Date.now()) + GRACE_MS + 300)
    const after = await book(2)
    const deadline = Date.now() + 5_000
    while (received.length < 4 && Date.now() < deadline) await sleep(20)
    expect(seqs(received)).toEqual(seqs([...before, ...after]))
    expect(errors).toEqual([])
    // Reopened with the new token before the old one expired, not cut off at expiry.
    expect(opened.length).toBeGreaterThanOrEqual(2)
    expect(opened[1]).toBeLessThan(expiresAt)
    expect(subscription.status()).toBe('live')
    subscription.close()
  })
})

// Snapshot, then stream from its X-Replica-Seq: on every transport exactly the later changes arrive.
import { createClient, type FormattedExecutionResult } from 'graphql-ws'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import WebSocket from 'ws'
import { subscribeChanges, type Transport } from '../../src/client/index.js'
import type { BookingRecord, ChangeEvent } from '../../src/model/records.js'
import { upsertBookings, upsertExams } from '../../src/replica/index.js'
import { bearer, makeBooking, makeExam, startTestApp, type TestApp } from '../support/fixtures.js'
import { commit, connectSse, connectWs, seqs, wsUrl } from '../support/streams.js'

describe('snapshot, then stream with no gap', () => {
  let t: TestApp
  let url: string
  const exam = makeExam()
  const otherExam = makeExam()
  // Written straight to the replica, so the cache is invalidated here as the write path would.
  const book = async (n = 1, target = exam) => {
    const events = await commit(t.app, (tx) =>
      upsertBookings(
        tx,
        Array.from({ length: n }, () => makeBooking(target)),
        'write',
      ),
    )
    await t.app.cache.invalidate([`exam:${target.hubspot_id}`, 'exams'])
    return events
  }

  /** The dashboard's first load: the bookings and the seq they reflect. */
  async function snapshot(): Promise<{ bookings: BookingRecord[]; seq: string }> {
    const response = await fetch(`${url}/api/mock-exams/${exam.hubspot_id}/bookings`, { headers: bearer(t.token) })
    return { bookings: (await response.json()).bookings, seq: response.headers.get('x-replica-seq') as string }
  }

  /** Takes a snapshot, writes after it (other exams too), and returns what a subscriber must receive. */
  async function snapshotThenWrite() {
    await book(2)
    const snap = await snapshot()
    await book(1, otherExam)
    const later = await book(3)
    return { snap, later }
  }

  beforeAll(async () => {
    t = await startTestApp()
    url = await t.app.listen()
    await commit(t.app, (tx) => upsertExams(tx, [exam, otherExam], 'manual'))
  })
  afterAll(() => t.close())

  it('SSE from ?after=<snapshot seq>', async () => {
    const { snap, later } = await snapshotThenWrite()
    const sse = await connectSse(`${url}/api/events?after=${snap.seq}&exam_ids=${exam.hubspot_id}`, bearer(t.token))
    await sse.waitForEvent('ready')
    expect(seqs(sse.changes())).toEqual(seqs(later))
    sse.close()
  })

  it('long-poll from after=<snapshot seq>', async () => {
    const { snap, later } = await snapshotThenWrite()
    const body = await (
      await fetch(`${url}/api/long-poll?after=${snap.seq}&exam_ids=${exam.hubspot_id}`, { headers: bearer(t.token) })
    ).json()
    expect(seqs(body.events)).toEqual(seqs(later))
  })

  it('WebSocket subscribe {after: <snapshot seq>}', async () => {
    const { snap, later } = await snapshotThenWrite()
    const ws = await connectWs(wsUrl(url, `/api/ws?access_token=${t.token}`))
    ws.send({ type: 'subscribe', exam_ids: [exam.hubspot_id], after: snap.seq })
    await ws.waitForType('ready')
    expect(seqs(ws.changes())).toEqual(seqs(later))
    ws.close()
  })

  it('GraphQL bookingUpdated(after: <snapshot seq>)', async () => {
    const { snap, later } = await snapshotThenWrite()
    const client = createClient({
      url: wsUrl(url, '/graphql'),
      webSocketImpl: WebSocket,
      connectionParams: { authorization: `Bearer ${t.token}` },
      retryAttempts: 0,
    })
    const received: string[] = []
    for await (const result of client.iterate({
      query: `subscription ($e: ID!, $a: String) { bookingUpdated(examId: $e, after: $a) { seq } }`,
      variables: { e: exam.hubspot_id, a: snap.seq },
    }) as AsyncIterable<FormattedExecutionResult<{ bookingUpdated: { seq: string } }>>) {
      received.push(result.data!.bookingUpdated.seq)
      if (received.length === later.length) break
    }
    await client.dispose()
    expect(received).toEqual(seqs(later))
  })

  for (const transport of ['sse', 'long-poll'] as Transport[]) {
    it(`the hubmirror/client subscription (${transport}): snapshot + stream equals a fresh read`, async () => {
      const { snap, later } = await snapshotThenWrite()
      const events: ChangeEvent[] = []
      const subscription = subscribeChanges({
        baseUrl: url,
        token: t.token,
        transport,
        examIds: [exam.hubspot_id],
        after: snap.seq,
        onEvent: (event) => events.push(event),
        onRefetch: () => undefined,
      })
      try {
        await expect.poll(() => events.length).toBe(later.length)
        // Changes made while subscribed keep coming, once each.
        const live = await book(2)
        await expect.poll(() => events.length).toBe(later.length + live.length)
        expect(seqs(events)).toEqual([...seqs(later), ...seqs(live)])
        const merged = new Map(snap.bookings.map((b) => [b.hubspot_id, b]))
        for (const event of events) merged.set(event.hubspot_id, event.row as BookingRecord)
        const fresh = await snapshot()
        expect([...merged.keys()].sort()).toEqual(fresh.bookings.map((b) => b.hubspot_id).sort())
      } finally {
        subscription.close()
      }
    })
  }
})

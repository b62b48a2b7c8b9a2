// Two servers over one Postgres: a write on A reaches B's subscribers (NOTIFY, or the head poll behind a transaction pooler), also across a LISTEN reconnect.
import pg from 'pg'
import { beforeAll, describe, expect, it } from 'vitest'
import { headSeq, upsertBookings, upsertExams } from '../../src/replica/index.js'
import { realPostgres } from '../support/env.js'
import { bearer, makeBooking, makeExam, twoAppsPerSuite, type TestApp } from '../support/fixtures.js'
import { commit, connectSse, connectWs, seqs, wsUrl } from '../support/streams.js'

describe.skipIf(!realPostgres)('realtime across two instances sharing Postgres', () => {
  // The safety poll is pushed out of the way: delivery must come from NOTIFY or the reconnect resync.
  const { a, b } = twoAppsPerSuite({ realtime: { safetyPollMs: 120_000 } })
  let urlA: string
  let urlB: string
  const exam = makeExam()
  const book = (on: TestApp, n = 1) =>
    commit(on.app, (tx) =>
      upsertBookings(
        tx,
        Array.from({ length: n }, () => makeBooking(exam)),
        'write',
      ),
    )

  beforeAll(async () => {
    urlA = await a.app.listen()
    urlB = await b.app.listen()
    await commit(a.app, (tx) => upsertExams(tx, [exam], 'manual'))
  })

  it('delivers a write on A to SSE, WebSocket and long-poll subscribers on B', async () => {
    const from = await headSeq(a.app.db)
    // B subscribes "from now", its own position: let it see the exam written in beforeAll first.
    await expect.poll(() => b.app.realtime.position(), { timeout: 5_000 }).toBe(from)
    const sse = await connectSse(`${urlB}/api/events?exam_ids=${exam.hubspot_id}`, bearer(b.token))
    await sse.waitForEvent('ready')
    const ws = await connectWs(wsUrl(urlB, `/api/ws?access_token=${b.token}`))
    ws.send({ type: 'subscribe', exam_ids: [exam.hubspot_id] })
    await ws.waitForType('ready')
    const poll = fetch(`${urlB}/api/long-poll?after=${from}&timeout_ms=10000`, { headers: bearer(b.token) })
    await new Promise((resolve) => setTimeout(resolve, 100))

    const written = await book(a, 2)
    // Waits on the events themselves; how fast is the realtime benchmark's to say, not a stopwatch here.
    await sse.waitFor((s) => s.changes().length === 2, 20_000)
    await ws.waitFor(() => ws.changes().length === 2, 20_000)
    expect(seqs(sse.changes())).toEqual(seqs(written))
    expect(seqs(ws.changes())).toEqual(seqs(written))
    expect(seqs((await (await poll).json()).events)).toEqual(seqs(written))
    sse.close()
    ws.close()
  })

  it('resumes on B from a snapshot taken on A: exactly the later changes', async () => {
    const snapshot = await fetch(`${urlA}/api/mock-exams/${exam.hubspot_id}/bookings`, { headers: bearer(a.token) })
    const seq = snapshot.headers.get('x-replica-seq') as string
    const later = await book(a, 3)
    const sse = await connectSse(`${urlB}/api/events?after=${seq}&exam_ids=${exam.hubspot_id}`, bearer(b.token))
    await sse.waitFor((s) => s.changes().length >= 3)
    await new Promise((resolve) => setTimeout(resolve, 50))
    expect(seqs(sse.changes())).toEqual(seqs(later))
    sse.close()
  })

  it('re-reads the log when its LISTEN connection is killed: changes committed meanwhile still arrive', async (ctx) => {
    // Through a transaction pooler without DATABASE_DIRECT_URL nobody LISTENs: the head poll above carries delivery.
    if (b.app.db.topology.wakeups === 'poll')
      return ctx.skip('no LISTEN connection to kill: wake-ups come by head poll')
    const sse = await connectSse(`${urlB}/api/events?exam_ids=${exam.hubspot_id}`, bearer(b.token))
    await sse.waitForEvent('ready')
    const reconnectsBefore = b.app.realtime.stats().listenReconnects
    const admin = new pg.Client({ connectionString: a.database.url as string })
    await admin.connect()
    try {
      const killed = await admin.query(
        `SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'hubmirror-listen' AND datname = current_database()`,
      )
      expect(killed.rowCount).toBe(2)
      const written = await book(a, 3)
      // Committed while neither instance was listening: their NOTIFY went nowhere.
      const listening = await admin.query(
        `SELECT count(*)::int AS n FROM pg_stat_activity WHERE application_name = 'hubmirror-listen' AND datname = current_database()`,
      )
      expect(listening.rows[0].n).toBe(0)
      await sse.waitFor((s) => s.changes().length === 3, 10_000)
      expect(seqs(sse.changes())).toEqual(seqs(written))
      expect(b.app.realtime.stats().listenReconnects).toBeGreaterThan(reconnectsBefore)
      // And it listens again: the next write arrives through NOTIFY.
      await expect
        .poll(
          async () =>
            (
              await admin.query(
                `SELECT count(*)::int AS n FROM pg_stat_activity WHERE application_name = 'hubmirror-listen' AND datname = current_database()`,
              )
            ).rows[0].n,
        )
        .toBe(2)
      const next = await book(a, 1)
      await sse.waitFor((s) => s.changes().length === 4, 3_000)
      expect(sse.changes()[3].seq).toBe(next[0].seq)
    } finally {
      await admin.end()
      sse.close()
    }
  })
})

// Long-poll at /api/long-poll: immediate backlog, waiting for the next change, filter, resume, 410, auth.
import { describe, expect, it } from 'vitest'
import { issueToken } from '../../src/http/jwt.js'
import type { ChangeEvent, CommittedEvent } from '../../src/model/records.js'
import { headSeq, pruneEvents } from '../../src/replica/index.js'
import { bearer, makeExam } from '../support/fixtures.js'
import { seqs, listeningApp } from '../support/streams.js'

interface PollBody {
  success: boolean
  events: ChangeEvent[]
  cursor: string
}

describe('long-poll /api/long-poll', () => {
  const examA = makeExam()
  const examB = makeExam()
  const live = listeningApp([examA, examB])
  const book = (exam = examA, n = 1) => live.book(exam, n)
  const poll = (query: string, headers: Record<string, string> = bearer(live.t.token)) =>
    fetch(`${live.url}/api/long-poll?${query}`, { headers })
  const pollBody = async (query: string) => {
    const response = await poll(query)
    expect(response.status).toBe(200)
    return (await response.json()) as PollBody
  }

  it('answers at once with the changes after the cursor, and the cursor to continue from', async () => {
    const from = await headSeq(live.t.app.db)
    const written = await book(examA, 3)
    const body = await pollBody(`after=${from}`)
    expect(body.success).toBe(true)
    expect(seqs(body.events)).toEqual(seqs(written))
    expect(body.cursor).toBe(written[2].seq)
  })

  // As soon as = well before the 25 s hold it asks for: a poll that waited the hold out would still
  // carry the change, so the test's 15 s timeout is what fails it, not a stopwatch.
  it('waits for the next change when there is none, and answers as soon as it commits', async () => {
    const from = await headSeq(live.t.app.db)
    const pending = pollBody(`after=${from}&timeout_ms=25000`)
    await new Promise((resolve) => setTimeout(resolve, 150))
    const [written] = await book(examA)
    const body = await pending
    expect(seqs(body.events)).toEqual([written.seq])
    expect(body.cursor).toBe(written.seq)
  }, 15_000)

  it('filters by exam, and moves the cursor past other exams’ changes when the wait times out', async () => {
    const from = await headSeq(live.t.app.db)
    const pending = pollBody(`after=${from}&exam_ids=${examA.hubspot_id}&timeout_ms=400`)
    await new Promise((resolve) => setTimeout(resolve, 100))
    await book(examB, 2)
    const body = await pending
    expect(body.events).toEqual([])
    expect(body.cursor).toBe(await headSeq(live.t.app.db))

    const mixed = [...(await book(examB)), ...(await book(examA))]
    const filtered = await pollBody(`after=${from}&exam_id=${examA.hubspot_id}`)
    expect(seqs(filtered.events)).toEqual([mixed[1].seq])
    expect(filtered.cursor).toBe(mixed[1].seq)
  })

  it('chains polls with nothing lost and nothing doubled while writers race', async () => {
    const from = await headSeq(live.t.app.db)
    const writing = (async () => {
      const all: CommittedEvent[] = []
      for (let i = 0; i < 15; i++) all.push(...(await book(i % 2 ? examA : examB, 2)))
      return all
    })()
    const received: ChangeEvent[] = []
    let cursor = from
    const written = await writing
    while (received.length < written.length) {
      const body = await pollBody(`after=${cursor}&timeout_ms=2000`)
      received.push(...body.events)
      cursor = body.cursor
    }
    expect(seqs(received)).toEqual(seqs(written))
  })

  it('answers with an old-shaped row in the log as stored, without failing the rest of the answer', async () => {
    const from = await headSeq(live.t.app.db)
    // A row from before a column existed (or from another writer): not a BookingRecord any more.
    await live.t.app.db.query(
      `INSERT INTO hubmirror.replica_events (kind, op, hubspot_id, exam_id, source, row_data)
       VALUES ('booking', 'upsert', 'legacy-1', $1, 'sync', '{"hubspot_id": "legacy-1", "status": "booked"}')`,
      [examA.hubspot_id],
    )
    const written = await book(examA, 2)
    const body = await pollBody(`after=${from}&exam_id=${examA.hubspot_id}`)
    expect(body.events).toHaveLength(3)
    expect(body.events[0]).toMatchObject({ hubspot_id: 'legacy-1', row: { hubspot_id: 'legacy-1', status: 'booked' } })
    expect(seqs(body.events.slice(1))).toEqual(seqs(written))
    expect(body.cursor).toBe(written[1].seq)
  })

  it('needs after (400 naming it), rejects a bad one, and checks the token', async () => {
    const missing = await poll('')
    expect(missing.status).toBe(400)
    expect((await missing.json()).error).toMatchObject({ code: 'E_VALIDATION', field: 'after' })
    expect((await poll('after=-1')).status).toBe(400)
    expect((await poll('after=0&timeout_ms=-5')).status).toBe(400)
    expect((await poll('after=0', {})).status).toBe(401)
    expect((await poll('after=0', bearer(issueToken(live.t.app.config.jwtSecret, ['sync.run'])))).status).toBe(403)
    expect((await poll(`after=0&timeout_ms=0&access_token=${live.t.token}`, {})).status).toBe(200)
  })

  it('answers 410 E_CURSOR_EXPIRED with the head for a cursor beyond the head or older than retention', async () => {
    const ahead = await poll('after=99999999')
    expect(ahead.status).toBe(410)
    expect((await ahead.json()).error).toMatchObject({
      code: 'E_CURSOR_EXPIRED',
      details: { seq: await headSeq(live.t.app.db) },
    })

    await book(examA, 3)
    expect(await pruneEvents(live.t.app.db, 0, 1)).toBeGreaterThan(0)
    const old = await poll('after=1')
    expect(old.status).toBe(410)
    const body = await old.json()
    expect(body).toMatchObject({
      success: false,
      error: { code: 'E_CURSOR_EXPIRED', details: { seq: await headSeq(live.t.app.db) } },
    })
  })
})

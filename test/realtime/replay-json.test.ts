// Replays splice each row's jsonb text into the wire JSON: every transport must carry what parse-then-stringify did.
import { describe, expect, it } from 'vitest'
import type { ChangeEvent } from '../../src/model/records.js'
import { headSeq, readEvents } from '../../src/replica/index.js'
import { LogEntry } from '../../src/realtime/index.js'
import { bearer, makeExam } from '../support/fixtures.js'
import { connectSse, connectWs, listeningApp, wsUrl } from '../support/streams.js'

/** Rows as JSON text, stored with ::jsonb as another writer (or an older version of us) might have. */
const ROWS: readonly (string | null)[] = [
  // Unicode: accents, CJK, an astral emoji, and U+2028/U+2029 (raw in both encodings, and not SSE line ends).
  '{"student_name": "Zoë Ångström 李小龍 😀", "note": "\u2028 and \u2029", "escaped": "\\u00e9\\ud83d\\ude00"}',
  // Escapes: newlines must stay escaped (an SSE frame is one data: line), quotes, backslashes, control characters.
  '{"text": "line one\\nline two\\r\\n\\ttab \\"quoted\\" back\\\\slash </script>", "ctl": "\\u0001\\u001f\\u007f"}',
  // Numbers as jsonb stores them: exponents written out, integers past 2^53, trailing zeros, negative zero.
  '{"big": 1e21, "huge": 12345678901234567890, "long": 123456789012345678901234567890.125, "scaled": 1.50, "tiny": 1e-7, "neg": -0, "fraction": 0.1, "capacity": 40}',
  // Nesting, empty containers, booleans and nulls, keys jsonb reorders (by length, then bytes).
  '{"zz": {"b": [1, {"c": [true, false, null]}], "a": {}}, "a": [], "mmm": [[[]]], "deleted_at": null}',
  '{}',
  'null',
  // SQL NULL: a delete event may carry no row at all.
  null,
]

describe('replayed events: spliced row text vs parse-then-stringify', () => {
  const exam = makeExam()
  const live = listeningApp([exam])
  const examId = exam.hubspot_id

  /** Today's wire JSON as the previous readEvents produced it: the driver parses the jsonb, we stringify the event. */
  async function parsedThenStringified(after: string): Promise<Map<string, string>> {
    const { rows } = await live.t.app.db.query<ChangeEvent>(
      `SELECT seq::text AS seq, kind, op, hubspot_id, exam_id, source,
         to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') AS at, changes, origin, row_data AS row
         FROM hubmirror.replica_events WHERE seq > $1::bigint ORDER BY replica_events.seq`,
      [after],
    )
    return new Map(rows.map((event) => [event.seq, JSON.stringify(event)]))
  }

  /** Odd rows inserted behind the hub's back, then real bookings committed through it; returns the cursor before. */
  async function writeBacklog(): Promise<string> {
    const from = await headSeq(live.t.app.db)
    for (const [n, row] of ROWS.entries()) {
      await live.t.app.db.query(
        `INSERT INTO hubmirror.replica_events (kind, op, hubspot_id, exam_id, source, row_data)
         VALUES ('booking', $1, $2, $3, 'sync', $4::jsonb)`,
        [row === null ? 'delete' : 'upsert', `odd-${n}`, examId, row],
      )
    }
    // A real commit: the hub finds it is not contiguous with its position and reads the log up to it.
    const booked = await live.book(exam, 3)
    await expect.poll(() => live.t.app.realtime.position()).toBe(booked[2].seq)
    return from
  }

  /** JSON.parse then JSON.stringify normalises layout and number spelling: equal texts mean the same values, keys and order. */
  const normalised = (value: unknown) => JSON.stringify(value)

  it('builds each event’s JSON from the stored text, equal in value, keys and key order to the old path', async () => {
    const from = await writeBacklog()
    const expected = await parsedThenStringified(from)
    expect(expected.size).toBe(ROWS.length + 3)
    const entries = (await readEvents(live.t.app.db, { after: from })).map((event) => new LogEntry(event))
    expect(entries.map((entry) => entry.seq)).toEqual([...expected.keys()])
    for (const entry of entries) {
      const json = entry.json()
      expect(normalised(JSON.parse(json)), json).toBe(expected.get(entry.seq))
      // The stored text went on the wire as it is (not re-encoded), and the frame stays one data: line.
      expect(json.endsWith('}') && json.includes(',"row":')).toBe(true)
      expect(entry.sse().toString().split('\n')).toHaveLength(5)
      expect(normalised(entry.event)).toBe(expected.get(entry.seq))
    }
  })

  it('carries the same events to a resumed SSE stream, a WebSocket replay, long-poll and GraphQL changes', async () => {
    const from = await writeBacklog()
    const expected = [...(await parsedThenStringified(from)).values()]

    const sse = await connectSse(`${live.url}/api/events?after=${from}&exam_id=${examId}`, bearer(live.t.token))
    await sse.waitForEvent('ready')
    sse.close()
    const frames = sse.messages.filter((m) => m.event === 'change')
    expect(frames.map((m) => normalised(JSON.parse(m.data)))).toEqual(expected)
    expect(frames.map((m) => m.id)).toEqual(expected.map((json) => (JSON.parse(json) as ChangeEvent).seq))

    const ws = await connectWs(wsUrl(live.url, `/api/ws?access_token=${live.t.token}`))
    ws.send({ type: 'subscribe', exam_ids: [examId], after: from })
    await ws.waitForType('ready')
    ws.close()
    expect(ws.changes().map(normalised)).toEqual(expected)

    const poll = await fetch(`${live.url}/api/long-poll?after=${from}&exam_id=${examId}`, {
      headers: bearer(live.t.token),
    })
    expect(poll.status).toBe(200)
    expect(poll.headers.get('content-type')).toMatch(/^application\/json/)
    const body = (await poll.json()) as { success: boolean; events: ChangeEvent[]; cursor: string }
    expect(body.success).toBe(true)
    expect(body.events.map(normalised)).toEqual(expected)
    expect(body.cursor).toBe((JSON.parse(expected.at(-1)!) as ChangeEvent).seq)

    const graphql = await fetch(`${live.url}/graphql`, {
      method: 'POST',
      headers: { ...bearer(live.t.token), 'content-type': 'application/json' },
      body: JSON.stringify({
        query: `query ($after: String!) { changes(after: $after, limit: 100) { events { seq kind op hubspot_id exam_id source at changes origin { kind subject } row } } }`,
        variables: { after: from },
      }),
    })
    const result = (await graphql.json()) as { data: { changes: { events: ChangeEvent[] } } }
    // GraphQL answers the fields asked for: the origin's kind and subject here.
    const asked = expected.map((json) => {
      const event = JSON.parse(json) as ChangeEvent
      const origin = event.origin && {
        kind: event.origin.kind,
        subject: 'subject' in event.origin ? event.origin.subject : null,
      }
      return normalised({ ...event, origin })
    })
    expect(result.data.changes.events.map(normalised)).toEqual(asked)
  })
})

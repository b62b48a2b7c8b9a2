// Hostile clients on the realtime transports and GraphQL: cost limits, subscriptions per connection, streams per token.
import type { Client } from 'graphql-ws'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { issueToken } from '../../src/http/jwt.js'
import { upsertBookings, upsertExams } from '../../src/replica/index.js'
import { bearer, makeBooking, makeExam, startTestApp, type TestApp } from '../support/fixtures.js'
import {
  aliases,
  commit,
  connectSse,
  connectWs,
  expectQueryCapsOverWs,
  firstResult as first,
  graphqlWsClient,
  wsUrl,
  type SseConnection,
} from '../support/streams.js'

type Data = Record<string, unknown>

describe('client limits', () => {
  let t: TestApp
  let url: string
  const exam = makeExam()
  const tokenOf = (subject: string) => issueToken(t.app.config.jwtSecret, ['exams.view'], { subject })
  const gql = (query: string, variables: Data = {}, token = t.token) =>
    fetch(`${url}/graphql`, {
      method: 'POST',
      headers: { ...bearer(token), 'content-type': 'application/json' },
      body: JSON.stringify({ query, variables }),
    })
  const clients: Client[] = []
  const streams: SseConnection[] = []
  const wsClient = (token: string, on?: { closed?: (event: unknown) => void }) => {
    const client = graphqlWsClient(url, token, on)
    clients.push(client)
    return client
  }
  const metric = async (line: RegExp) => {
    const text = await (await fetch(`${url}/metrics`, { headers: bearer(t.token) })).text()
    const found = text.split('\n').find((l) => line.test(l))
    return found ? Number(found.split(' ').pop()) : NaN
  }

  beforeAll(async () => {
    t = await startTestApp({
      env: {
        HUBMIRROR_MAX_STREAMS_PER_SUBJECT: '3',
        HUBMIRROR_MAX_STREAMS: '5',
        HUBMIRROR_GRAPHQL_MAX_SUBSCRIPTIONS: '3',
      },
    })
    url = await t.app.listen()
    await commit(t.app, (tx) => upsertExams(tx, [exam], 'manual'))
    await commit(t.app, (tx) => upsertBookings(tx, [makeBooking(exam), makeBooking(exam)], 'write'))
  })
  afterAll(async () => {
    for (const stream of streams) stream.close()
    await Promise.all(clients.map((client) => client.dispose()))
    await t.close()
  })

  it('refuses alias amplification on POST /graphql before running anything', async () => {
    const response = await gql(aliases(300))
    expect(response.status).toBe(400)
    const body = await response.json()
    expect(body.data).toBeUndefined()
    expect(body.errors[0]).toMatchObject({ extensions: { code: 'E_QUERY_TOO_COMPLEX', reason: 'cost' } })
    expect(body.errors[0].message).toMatch(/costs more than 2000/)
    expect((await (await gql(aliases(31, 1))).json()).errors[0].extensions.reason).toBe('aliases')
    // Within the limits the same shape runs.
    const ok = await gql(aliases(2, 500))
    expect(ok.status).toBe(200)
    expect((await ok.json()).data.a0.events.length).toBeGreaterThan(0)
    expect(await metric(/^hubmirror_graphql_refused_total\{reason="cost"\}/)).toBeGreaterThanOrEqual(1)
    expect(await metric(/^hubmirror_graphql_refused_total\{reason="aliases"\}/)).toBeGreaterThanOrEqual(1)
  })

  it('measures an operation before validating it (validating n aliases is n²)', async () => {
    // Invalid too (no such field): refused by cost, so validation never ran on it.
    const invalid = `{ ${Array.from({ length: 300 }, (_, i) => `a${i}: changes(after: "0", limit: 1000) { nope }`).join(' ')} }`
    const body = await (await gql(invalid)).json()
    expect(body.errors).toHaveLength(1)
    expect(body.errors[0].extensions).toMatchObject({ code: 'E_QUERY_TOO_COMPLEX', reason: 'cost' })
    // Within the limits, validation still runs.
    const unknown = await (await gql('{ exams { nope } }')).json()
    expect(unknown.errors[0].message).toMatch(/Cannot query field "nope"/)
  })

  it('keeps introspection off by default', async () => {
    const response = await gql('{ __schema { types { name } } }')
    expect(response.status).toBe(400)
    expect((await response.json()).errors[0].message).toMatch(/introspection/i)
  })

  it('applies the same limits, and the query size cap, over graphql-ws', async () => {
    const client = wsClient(tokenOf('gql-limits'))
    await expectQueryCapsOverWs(client)
    // The connection is still good for a reasonable query.
    const fine = await first(client, '{ exams { hubspot_id } }')
    expect((fine.data as { exams: unknown[] }).exams).toHaveLength(1)
  })

  it('allows at most N active subscriptions per graphql-ws connection', async () => {
    const client = wsClient(tokenOf('gql-subs'))
    const query = `subscription { bookingUpdated(examId: "${exam.hubspot_id}") { seq } }`
    const stops = Array.from({ length: 3 }, () =>
      client.subscribe({ query }, { next: () => undefined, error: () => undefined, complete: () => undefined }),
    )
    await new Promise((resolve) => setTimeout(resolve, 300))
    const refused = await first(client, query)
    expect(refused.errors?.[0].extensions).toMatchObject({ code: 'E_TOO_MANY_SUBSCRIPTIONS', limit: 3 })
    stops[0]()
    await new Promise((resolve) => setTimeout(resolve, 200))
    // A slot is free again: this one is accepted (no immediate error; it waits for events).
    const outcome = await Promise.race([
      first(client, query),
      new Promise((resolve) => setTimeout(() => resolve('accepted'), 500)),
    ])
    expect(outcome).toBe('accepted')
    expect(await metric(/^hubmirror_graphql_refused_total\{reason="subscriptions"\}/)).toBe(1)
  })

  it('limits streams per token subject on every transport, and per server', async () => {
    const greedy = tokenOf('greedy')
    for (let i = 0; i < 3; i++) {
      const stream = await connectSse(`${url}/api/events`, bearer(greedy))
      streams.push(stream)
      expect(stream.status).toBe(200)
    }
    const refused = await fetch(`${url}/api/events`, { headers: bearer(greedy) })
    expect(refused.status).toBe(429)
    expect(refused.headers.get('retry-after')).toBe('5')
    expect((await refused.json()).error).toMatchObject({ code: 'E_TOO_MANY_STREAMS', details: { scope: 'subject' } })
    const poll = await fetch(`${url}/api/long-poll?after=0&timeout_ms=0`, { headers: bearer(greedy) })
    expect(poll.status).toBe(429)
    const ws = await connectWs(wsUrl(url, '/api/ws'), { headers: bearer(greedy) })
    expect((await ws.closed).code).toBe(4429)
    const gqlClosed = await new Promise<number>((resolve) =>
      wsClient(greedy, { closed: (event) => resolve((event as { code: number }).code) }),
    )
    expect(gqlClosed).toBe(4429)

    // Another subject is not affected, until the server as a whole is full (5; 2 graphql-ws above hold 2).
    const other = await connectSse(`${url}/api/events`, bearer(tokenOf('other')))
    streams.push(other)
    expect(other.status).toBe(200)
    const full = await fetch(`${url}/api/events`, { headers: bearer(tokenOf('third')) })
    expect(full.status).toBe(429)
    expect((await full.json()).error.details).toMatchObject({ scope: 'server' })

    // Closing a stream frees its slot.
    streams[0].close()
    await new Promise((resolve) => setTimeout(resolve, 200))
    const again = await connectSse(`${url}/api/events`, bearer(greedy))
    streams.push(again)
    expect(again.status).toBe(200)

    expect(await metric(/^hubmirror_streams_open\{kind="sse"\}/)).toBe(4)
    expect(await metric(/^hubmirror_streams_refused_total\{kind="sse",scope="subject"\}/)).toBe(1)
    expect(await metric(/^hubmirror_streams_refused_total\{kind="sse",scope="server"\}/)).toBe(1)
    expect(await metric(/^hubmirror_streams_refused_total\{kind="ws",scope="subject"\}/)).toBe(1)
    expect(await metric(/^hubmirror_streams_refused_total\{kind="graphql-ws",scope="subject"\}/)).toBe(1)
    expect(await metric(/^hubmirror_streams_refused_total\{kind="long-poll",scope="subject"\}/)).toBe(1)
  })
})

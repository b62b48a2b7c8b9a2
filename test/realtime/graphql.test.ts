// GraphQL: queries through the read path over POST /graphql, and bookingUpdated over graphql-ws.
import { createClient, type Client, type FormattedExecutionResult } from 'graphql-ws'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import WebSocket from 'ws'
import { issueToken } from '../../src/http/jwt.js'
import { headSeq, pruneEvents, upsertBookings, upsertExams } from '../../src/replica/index.js'
import { bearer, makeBooking, makeExam, startTestApp, type TestApp } from '../support/fixtures.js'
import { commit, seqs, wsUrl } from '../support/streams.js'

type Data = Record<string, unknown>

describe('GraphQL /graphql', () => {
  let t: TestApp
  let url: string
  const active = makeExam({ exam_date: '2026-12-01' })
  const inactive = makeExam({ exam_date: '2026-12-02', is_active: 'false' })
  const other = makeExam({ exam_date: '2026-12-03' })
  const book = (exam = active, n = 1) =>
    commit(t.app, (tx) =>
      upsertBookings(
        tx,
        Array.from({ length: n }, () => makeBooking(exam)),
        'write',
      ),
    )
  const gql = (query: string, variables: Data = {}, headers: Record<string, string> = bearer(t.token)) =>
    fetch(`${url}/graphql`, {
      method: 'POST',
      headers: { ...headers, 'content-type': 'application/json' },
      body: JSON.stringify({ query, variables }),
    })
  const clients: Client[] = []
  const wsClient = (
    options: { connectionParams?: Data; query?: string } = { connectionParams: { authorization: `Bearer ${t.token}` } },
  ) => {
    const client = createClient({
      url: wsUrl(url, `/graphql${options.query ?? ''}`),
      webSocketImpl: WebSocket,
      connectionParams: options.connectionParams,
      retryAttempts: 0,
      lazy: false,
      onNonLazyError: () => undefined,
    })
    clients.push(client)
    return client
  }

  /** Collects a subscription's results until `count` arrived (or it ended). */
  async function collect(
    client: Client,
    query: string,
    variables: Data,
    count: number,
    during?: () => Promise<unknown>,
  ) {
    const results: FormattedExecutionResult<Data, unknown>[] = []
    const iterator = client.iterate<Data>({ query, variables })
    const reading = (async () => {
      for await (const result of iterator) {
        results.push(result)
        if (results.length >= count) break
      }
    })()
    await new Promise((resolve) => setTimeout(resolve, 150))
    await during?.()
    await Promise.race([reading, new Promise((resolve) => setTimeout(resolve, 5_000))])
    return results
  }

  beforeAll(async () => {
    t = await startTestApp()
    url = await t.app.listen()
    await commit(t.app, (tx) => upsertExams(tx, [active, inactive, other], 'manual'))
  })
  afterAll(async () => {
    await Promise.all(clients.map((client) => client.dispose()))
    await t.close()
  })

  it('answers exams, exam and bookings through the read path, with the snapshot seq', async () => {
    await book(active, 2)
    const response = await gql(
      `query ($id: ID!) {
      exams(isActive: true, startDate: "2026-12-01") { hubspot_id is_active exam_date }
      exam(id: $id) { hubspot_id mock_exam_name capacity }
      missing: exam(id: "99999999") { hubspot_id }
      bookings(examId: $id) { hubspot_id mock_exam_id booking_status }
    }`,
      { id: active.hubspot_id },
    )
    expect(response.status).toBe(200)
    const body = await response.json()
    expect(body.errors).toBeUndefined()
    expect(body.data.exams.map((e: Data) => e.hubspot_id)).toEqual([active.hubspot_id, other.hubspot_id])
    expect(body.data.exam).toEqual({
      hubspot_id: active.hubspot_id,
      mock_exam_name: active.mock_exam_name,
      capacity: active.capacity,
    })
    expect(body.data.missing).toBeNull()
    expect(body.data.bookings).toHaveLength(2)
    expect(body.data.bookings[0]).toMatchObject({ mock_exam_id: active.hubspot_id, booking_status: 'confirmed' })
    expect(response.headers.get('x-replica-seq')).toBe(await headSeq(t.app.db))
    expect(body.extensions.replicaSeq).toBe(await headSeq(t.app.db))
  })

  it('pages the change log with changes(after, examIds), and says refetch for an expired cursor', async () => {
    const from = await headSeq(t.app.db)
    const written = [...(await book(active, 2)), ...(await book(other, 1))]
    const body = await (
      await gql(
        `query ($after: String!, $ids: [ID!]) { changes(after: $after, examIds: $ids, limit: 10) { cursor events { seq kind op exam_id row } } }`,
        { after: from, ids: [active.hubspot_id] },
      )
    ).json()
    expect(seqs(body.data.changes.events)).toEqual(seqs(written.slice(0, 2)))
    expect(body.data.changes.cursor).toBe(written[1].seq)
    expect(body.data.changes.events[0].row.mock_exam_id).toBe(active.hubspot_id)
    const ahead = await (await gql(`{ changes(after: "99999999") { cursor } }`)).json()
    expect(ahead.errors[0].extensions).toEqual({ code: 'E_CURSOR_EXPIRED', seq: await headSeq(t.app.db) })
  })

  it('rejects bad queries and arguments clearly', async () => {
    const syntax = await gql('{ exams { ')
    expect(syntax.status).toBe(400)
    expect((await syntax.json()).errors[0].message).toMatch(/Syntax Error/)
    const unknown = await gql('{ nope }')
    expect(unknown.status).toBe(400)
    const badId = await (await gql('{ exam(id: "abc") { hubspot_id } }')).json()
    expect(badId.errors[0].extensions).toMatchObject({ code: 'E_VALIDATION', field: 'id' })
    const badDates = await (
      await gql('{ exams(startDate: "2026-12-31", endDate: "2026-01-01") { hubspot_id } }')
    ).json()
    expect(badDates.errors[0].extensions.code).toBe('E_VALIDATION')
    const subscription = await gql('subscription { bookingUpdated(examId: "1") { seq } }')
    expect(subscription.status).toBe(400)
    const notJson = await fetch(`${url}/graphql`, {
      method: 'POST',
      headers: { ...bearer(t.token), 'content-type': 'application/json' },
      body: '{"query":',
    })
    expect(notJson.status).toBe(400)
  })

  it('needs a bearer token with exams.view on POST and on the plain GET', async () => {
    expect((await gql('{ exams { hubspot_id } }', {}, {})).status).toBe(401)
    const forbidden = await gql(
      '{ exams { hubspot_id } }',
      {},
      bearer(issueToken(t.app.config.jwtSecret, ['sync.run'])),
    )
    expect(forbidden.status).toBe(403)
    expect((await fetch(`${url}/graphql`)).status).toBe(401)
    expect((await fetch(`${url}/graphql`, { headers: bearer(t.token) })).status).toBe(400)
  })

  it('streams bookingUpdated for one exam with the seed fields, over graphql-ws', async () => {
    const client = wsClient()
    let written: Awaited<ReturnType<typeof book>> = []
    const results = await collect(
      client,
      `subscription ($examId: ID!) { bookingUpdated(examId: $examId) { seq op id bookingId status examId updatedAt booking { student_name } } }`,
      { examId: active.hubspot_id },
      2,
      async () => {
        await book(other, 1)
        written = await book(active, 2)
      },
    )
    expect(results.map((r) => (r.data?.bookingUpdated as Data).seq)).toEqual(seqs(written))
    expect(results[0].data?.bookingUpdated).toMatchObject({
      op: 'upsert',
      id: written[0].hubspot_id,
      examId: active.hubspot_id,
      status: 'confirmed',
      bookingId: `bk-${written[0].hubspot_id}`,
    })
  })

  it('resumes bookingUpdated from after with the backlog first, nothing doubled', async () => {
    const from = await headSeq(t.app.db)
    const backlog = await book(active, 3)
    const client = wsClient({ query: `?access_token=${t.token}` })
    let live: Awaited<ReturnType<typeof book>> = []
    const results = await collect(
      client,
      `subscription ($examId: ID!, $after: String) { bookingUpdated(examId: $examId, after: $after) { seq } }`,
      { examId: active.hubspot_id, after: from },
      5,
      async () => {
        live = await book(active, 2)
      },
    )
    expect(results.map((r) => (r.data?.bookingUpdated as Data).seq)).toEqual([...seqs(backlog), ...seqs(live)])
  })

  it('refuses a graphql-ws connection without a valid token, and errors an expired cursor', async () => {
    const closed = await new Promise<number>((resolve) => {
      const client = createClient({
        url: wsUrl(url, '/graphql'),
        webSocketImpl: WebSocket,
        retryAttempts: 0,
        lazy: false,
        onNonLazyError: () => undefined,
        on: { closed: (event) => resolve((event as { code: number }).code) },
      })
      clients.push(client)
    })
    expect(closed).toBe(4403)

    await book(active, 3)
    expect(await pruneEvents(t.app.db, 0, 1)).toBeGreaterThan(0)
    // graphql-ws delivers a refused subscription as one result with errors, then completes.
    const results = await collect(
      wsClient(),
      `subscription { bookingUpdated(examId: "${active.hubspot_id}", after: "1") { seq } }`,
      {},
      2,
    )
    expect(results).toHaveLength(1)
    expect(results[0].data ?? null).toBeNull()
    expect(results[0].errors?.[0]).toMatchObject({
      extensions: { code: 'E_CURSOR_EXPIRED', seq: await headSeq(t.app.db) },
    })
  })
})

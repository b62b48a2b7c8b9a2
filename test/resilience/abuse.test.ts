// Hostile and careless clients, as an attacker would be one, each refused, while a steady background load keeps its latency and loses nothing.
import { request as httpRequest } from 'node:http'
import { connect } from 'node:net'
import { getPriority, setPriority } from 'node:os'
import type { Client } from 'graphql-ws'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import WebSocket from 'ws'
import { subscribeChanges } from '../../src/client/subscribe.js'
import { PERMISSIONS, type Permission } from '../../src/http/jwt.js'
import { percentile, startBackgroundLoad, type BackgroundLoad } from '../support/background-load.js'
import { startChildEmulator, type ChildEmulator, type ChildServer } from '../support/child-server.js'
import {
  call,
  fmt,
  prng,
  recordFigures,
  resilienceServers,
  seedFromEnv,
  sleep,
  waitUntil,
  withDb,
  type ResilienceServers,
} from '../support/resilience-harness.js'
import {
  aliases,
  connectSse,
  expectQueryCapsOverWs,
  firstResult,
  graphqlWsClient,
  wsUrl,
  type SseConnection,
} from '../support/streams.js'
import { load, profile } from './profile.js'

const MIN_P99_SAMPLES = 200
/**
 * A p99 within this much of the unloaded one passes whatever the ratio: with unloaded reads at
 * 10–20 ms on a shared 2-core machine, a scheduler hiccup doubles them (CI: 16.3 → 34.1 ms while the
 * slow-reader attacks pushed 10,000 events). An attack that starves the server costs hundreds of ms.
 */
const P99_NOISE_FLOOR_MS = 50
/** The background load's p99 under attack may be 2× its unloaded p99, or within the noise floor of it. */
const p99Limit = (unloaded: number) => Math.max(2 * unloaded, unloaded + P99_NOISE_FLOOR_MS)

const HUBSPOT_TOKEN = 'abuse-hubspot-token'
/** Bookings the emulator is seeded with (100 an exam): a change log of several MB for the slow readers. */
const SEED_BOOKINGS = 10_000
const PER_SUBJECT = 6
const TOTAL_STREAMS = 20
const MAX_SUBSCRIPTIONS = 5
const BACKLOG_BYTES = 64 * 1024
const MAX_QUEUED_PULLS = 4

type Data = Record<string, any>

describe('abuse: hostile clients while a background load runs', () => {
  let emulator: ChildEmulator
  let cluster: ResilienceServers
  let server: ChildServer
  let background: BackgroundLoad | null = null
  const tokenOf = (subject: string, permissions?: readonly Permission[]) => cluster.tokenOf(subject, permissions)
  let admin: string
  const seed = seedFromEnv(1_717)
  const random = prng(seed)
  /** Seeded exams (100 bookings each) the pull attacks aim at; the background load books on its own. */
  let seededExams: string[] = []
  const backgroundExams: string[] = []
  const closers: Array<() => unknown> = []

  const api = (token: string, method: string, path: string, body?: unknown) =>
    call(server.url, token, method, path, body)
  const metrics = async () =>
    (
      await fetch(`${server.url}/metrics`, {
        headers: { authorization: `Bearer ${tokenOf('scraper', ['metrics.read'])}` },
      })
    ).text()
  const metric = (text: string, line: RegExp) => {
    const found = text.split('\n').find((l) => line.test(l))
    return found ? Number(found.split(' ').pop()) : NaN
  }
  const logSeqs = (examId?: string) =>
    withDb(cluster.database.url, async (client) =>
      (
        await client.query(
          `SELECT seq::text AS seq FROM hubmirror.replica_events ${examId ? 'WHERE exam_id = $1' : ''} ORDER BY replica_events.seq`,
          examId ? [examId] : [],
        )
      ).rows.map((r) => r.seq as string),
    )

  beforeAll(async () => {
    console.log(`abuse suite: RESILIENCE_SEED=${seed} (profile ${profile})`)
    emulator = await startChildEmulator(['--token', HUBSPOT_TOKEN, '--seed', String(SEED_BOOKINGS)])
    cluster = await resilienceServers('abuse', {
      hubspotUrl: emulator.url,
      hubspotToken: HUBSPOT_TOKEN,
      env: {
        HUBMIRROR_MAX_STREAMS_PER_SUBJECT: String(PER_SUBJECT),
        HUBMIRROR_MAX_STREAMS: String(TOTAL_STREAMS),
        HUBMIRROR_GRAPHQL_MAX_SUBSCRIPTIONS: String(MAX_SUBSCRIPTIONS),
        HUBMIRROR_STREAM_BACKLOG_BYTES: String(BACKLOG_BYTES),
        HUBMIRROR_MAX_QUEUED_PULLS: String(MAX_QUEUED_PULLS),
      },
    })
    admin = tokenOf('dashboard', PERMISSIONS)
    server = await cluster.start()
    // The first run backfills the seeded portal: its change log is what the slow readers replay.
    await waitUntil(
      async () => {
        const status = (await api(admin, 'GET', '/api/sync/status')).body?.status
        return status?.objects?.bookings?.cursor != null && status?.objects?.exams?.cursor != null
      },
      180_000,
      'the first backfill',
      500,
    )
    const list = await api(admin, 'GET', '/api/mock-exams?limit=100')
    seededExams = (list.body.exams as Array<{ hubspot_id: string }>).map((exam) => exam.hubspot_id)
    for (let i = 0; i < 3; i++) {
      const created = await api(admin, 'POST', '/api/mock-exams', {
        mock_exam_name: `Background ${i}`,
        mock_type: 'Clinical Skills',
        exam_date: `2026-12-${String(10 + i).padStart(2, '0')}`,
        start_time: '09:00',
        end_time: '12:00',
        location: `Hall ${i}`,
        capacity: 10_000,
      })
      expect(created.status, JSON.stringify(created.body)).toBe(201)
      backgroundExams.push(created.body.exam.hubspot_id)
    }
  }, 300_000)

  afterAll(async () => {
    background?.kill()
    for (const close of closers)
      await Promise.resolve()
        .then(close)
        .catch(() => undefined)
    await cluster?.stop('SIGTERM')
    await emulator?.kill()
    await cluster?.remove()
  })

  // ── the attacker's tools ───────────────────────────────────────────────────────────────────

  const gqlClient = (token: string, on?: { closed?: (event: unknown) => void }): Client => {
    const client = graphqlWsClient(server.url, token, on)
    closers.push(() => client.dispose())
    return client
  }
  /** How a graphql-ws connection of this token ends: its close code. */
  const gqlCloseCode = (token: string) =>
    new Promise<number>((resolve) => {
      const client = gqlClient(token, { closed: (event) => resolve((event as { code: number }).code) })
      void client
    })
  const wsCloseCode = (token: string) =>
    new Promise<number>((resolve) => {
      const socket = new WebSocket(wsUrl(server.url, '/api/ws'), { headers: { authorization: `Bearer ${token}` } })
      socket.on('error', () => undefined)
      socket.on('close', (code) => resolve(code))
    })
  const sse = async (token: string) => {
    const connection = await connectSse(`${server.url}/api/events`, { authorization: `Bearer ${token}` })
    closers.push(() => connection.close())
    return connection
  }
  const longPoll = (token: string) =>
    fetch(`${server.url}/api/long-poll?after=0&timeout_ms=0`, { headers: { authorization: `Bearer ${token}` } })
  /** One raw request line (no client library to clean it up) and the status it got. */
  const rawStatus = (target: string) =>
    new Promise<number>((resolve, reject) => {
      const { port } = new URL(server.url)
      const socket = connect(Number(port), '127.0.0.1', () =>
        socket.write(`GET ${target} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n`),
      )
      let text = ''
      socket.on('data', (chunk) => (text += chunk.toString('latin1')))
      socket.on('end', () => resolve(Number(/^HTTP\/1\.1 (\d{3})/.exec(text)?.[1] ?? 0)))
      socket.on('error', reject)
    })
  /** node:http, because fetch will not send a Host header of our choosing. */
  const withHost = (host: string, path: string) =>
    new Promise<number>((resolve, reject) => {
      const req = httpRequest(
        `${emulator.url}${path}`,
        { headers: { host, authorization: `Bearer ${HUBSPOT_TOKEN}` } },
        (res) => {
          res.resume()
          resolve(res.statusCode ?? 0)
        },
      )
      req.on('error', reject)
      req.end()
    })
  const emulatorCall = (path: string, init: RequestInit = {}) => fetch(`${emulator.url}${path}`, init)
  const droppedCount = async (kind: 'sse' | 'ws') =>
    metric(await metrics(), new RegExp(`^hubmirror_streams_dropped_total\\{kind="${kind}"\\}`)) || 0
  const pick = <T>(items: readonly T[]) => items[Math.floor(random() * items.length)]
  /** Seconds HubSpot calls waited for a budget slot so far, and slots granted, by priority. */
  const budgetWaits = (text: string) =>
    Object.fromEntries(
      ['write', 'demand', 'background', 'bulk'].map((priority) => [
        priority,
        {
          waitedS: metric(text, new RegExp(`^hubmirror_hubspot_budget_wait_seconds_total\\{priority="${priority}"\\}`)),
          granted: metric(text, new RegExp(`^hubmirror_hubspot_budget_granted_total\\{priority="${priority}"\\}`)),
        },
      ]),
    )
  const budgetDelta = (from: ReturnType<typeof budgetWaits>, to: ReturnType<typeof budgetWaits>) =>
    Object.fromEntries(
      Object.entries(to).map(([priority, { waitedS, granted }]) => [
        priority,
        `${granted - from[priority].granted} slots, waited ${(waitedS - from[priority].waitedS).toFixed(2)} s`,
      ]),
    )
  /**
   * A reader that stops reading: opened, held until the server drops it (the kind's drop counter
   * moves), let go (resume: read again, or reconnect after its last seq), then held until it has
   * every event logged by then, which must be all of them, in log order, none twice. Resolves with
   * how many events that was.
   */
  const slowReader = async (
    kind: 'sse' | 'ws',
    what: string,
    open: () => Promise<{ received: string[]; resume(): unknown; close(): void }>,
  ): Promise<number> => {
    const before = await droppedCount(kind)
    const reader = await open()
    await waitUntil(async () => (await droppedCount(kind)) > before, 60_000, `the slow ${what} to be dropped`, 200)
    await reader.resume()
    const head = (await logSeqs()).at(-1)!
    const logged = (await logSeqs()).filter((seq) => BigInt(seq) <= BigInt(head))
    const upToHead = () => reader.received.filter((seq) => BigInt(seq) <= BigInt(head))
    await waitUntil(
      () => upToHead().length >= logged.length,
      60_000,
      `the ${what} to resume and get all ${logged.length} events`,
      100,
    )
    reader.close()
    expect(upToHead()).toEqual(logged)
    return logged.length
  }
  /** The server's worst event-loop delay (ms) since the last scrape (prom-client resets it on each). */
  const serverLag = async () =>
    Math.round(metric(await metrics(), /^hubmirror_nodejs_eventloop_lag_max_seconds /) * 1000)

  // ── the attacks: each asserts its refusal and says what it did ──────────────────────────────

  const attacks: Array<{ name: string; repeat: boolean; run: () => Promise<string> }> = [
    {
      name: 'GraphQL alias amplification over HTTP',
      repeat: true,
      async run() {
        const viewer = tokenOf('attacker')
        const started = Date.now()
        const costly = await api(viewer, 'POST', '/graphql', { query: aliases(300) })
        expect(costly.status).toBe(400)
        expect(costly.body.data ?? null).toBeNull()
        expect(costly.body.errors[0].extensions).toMatchObject({ code: 'E_QUERY_TOO_COMPLEX', reason: 'cost' })
        const many = await api(viewer, 'POST', '/graphql', { query: aliases(31, 1) })
        expect(many.body.errors[0].extensions).toMatchObject({ code: 'E_QUERY_TOO_COMPLEX', reason: 'aliases' })
        const huge = await api(viewer, 'POST', '/graphql', {
          query: `{ exams { hubspot_id } } # ${'x'.repeat(25_000)}`,
        })
        expect(huge.status).toBeGreaterThanOrEqual(400)
        expect(huge.status).toBeLessThan(500)
        expect(Date.now() - started).toBeLessThan(5_000)
        return '300 aliases of changes(limit:1000) → 400 E_QUERY_TOO_COMPLEX (cost); 31 aliases → (aliases); 25 KB query → 4xx'
      },
    },
    {
      name: 'GraphQL alias amplification and oversized queries over graphql-ws',
      repeat: true,
      async run() {
        const client = gqlClient(tokenOf('attacker'))
        await expectQueryCapsOverWs(client)
        await client.dispose()
        return '300 aliases → E_QUERY_TOO_COMPLEX (cost); 25 KB query → (size), over graphql-ws'
      },
    },
    {
      name: 'Too many subscriptions on one graphql-ws connection',
      repeat: true,
      async run() {
        const client = gqlClient(tokenOf('attacker'))
        const query = `subscription { bookingUpdated(examId: "${pick(seededExams)}") { seq } }`
        for (let i = 0; i < MAX_SUBSCRIPTIONS; i++)
          client.subscribe({ query }, { next: () => undefined, error: () => undefined, complete: () => undefined })
        await sleep(300)
        const refused = await firstResult(client, query)
        expect(refused.errors?.[0].extensions).toMatchObject({
          code: 'E_TOO_MANY_SUBSCRIPTIONS',
          limit: MAX_SUBSCRIPTIONS,
        })
        await client.dispose()
        return `subscription ${MAX_SUBSCRIPTIONS + 1} on one connection → E_TOO_MANY_SUBSCRIPTIONS`
      },
    },
    {
      name: 'Too many streams for one token subject, on every transport',
      repeat: true,
      async run() {
        const greedy = tokenOf(`greedy-${Math.floor(random() * 1e9)}`)
        const held: SseConnection[] = []
        for (let i = 0; i < PER_SUBJECT; i++) {
          const stream = await sse(greedy)
          expect(stream.status).toBe(200)
          held.push(stream)
        }
        const refused = await fetch(`${server.url}/api/events`, { headers: { authorization: `Bearer ${greedy}` } })
        expect(refused.status).toBe(429)
        expect((await refused.json()).error).toMatchObject({
          code: 'E_TOO_MANY_STREAMS',
          details: { scope: 'subject' },
        })
        const poll = await longPoll(greedy)
        expect(poll.status).toBe(429)
        expect((await poll.json()).error.code).toBe('E_TOO_MANY_STREAMS')
        expect(await wsCloseCode(greedy)).toBe(4429)
        expect(await gqlCloseCode(greedy)).toBe(4429)
        for (const stream of held) stream.close()
        await sleep(300)
        return `${PER_SUBJECT} SSE streams held; the next SSE and long-poll → 429 E_TOO_MANY_STREAMS, WebSocket and graphql-ws → close 4429`
      },
    },
    {
      name: 'Too many streams on the server, from many subjects',
      repeat: true,
      async run() {
        const held: SseConnection[] = []
        let refusal: Data | null = null
        for (let subject = 0; refusal === null && subject < 10; subject++) {
          const token = tokenOf(`swarm-${subject}-${Math.floor(random() * 1e9)}`)
          for (let i = 0; i < PER_SUBJECT && refusal === null; i++) {
            const stream = await sse(token)
            if (stream.status === 200) held.push(stream)
            else {
              expect(stream.status).toBe(429)
              await stream.ended
              refusal = JSON.parse(stream.text()).error
            }
          }
        }
        expect(refusal).toMatchObject({ code: 'E_TOO_MANY_STREAMS', details: { scope: 'server' } })
        // Full: a newcomer is refused on every transport.
        const newcomer = tokenOf(`newcomer-${Math.floor(random() * 1e9)}`)
        expect((await longPoll(newcomer)).status).toBe(429)
        expect(await wsCloseCode(newcomer)).toBe(4429)
        expect(await gqlCloseCode(newcomer)).toBe(4429)
        for (const stream of held) stream.close()
        await sleep(300)
        return `${held.length} SSE streams from ${Math.ceil(held.length / PER_SUBJECT)} subjects filled the server (${TOTAL_STREAMS} with the dashboard's); a newcomer → 429 / close 4429 (scope server)`
      },
    },
    {
      name: 'A slow SSE reader (the client library) stops reading',
      repeat: false,
      async run() {
        let release!: () => void
        const gate = new Promise<void>((resolve) => (release = resolve))
        let connections = 0
        // The first stream's body is not read until the server has dropped it: a reader that stopped.
        const slowFetch: typeof fetch = async (input, init) => {
          const response = await fetch(input, init)
          if (!String(input).includes('/api/events') || !response.body) return response
          connections += 1
          if (connections > 1) return response
          const inner = response.body.getReader()
          const body = new ReadableStream<Uint8Array>(
            {
              async pull(controller) {
                await gate
                const { done, value } = await inner.read()
                if (done) controller.close()
                else controller.enqueue(value)
              },
              cancel: (reason) => inner.cancel(reason),
            },
            { highWaterMark: 0 },
          )
          return new Response(body, { status: response.status, headers: response.headers })
        }
        const events = await slowReader('sse', 'SSE reader', async () => {
          const received: string[] = []
          const subscription = subscribeChanges({
            baseUrl: server.url,
            token: tokenOf('slow-sse'),
            after: '0',
            fetch: slowFetch,
            minBackoffMs: 50,
            onEvent: (event) => void received.push(event.seq),
            onRefetch: () => undefined,
          })
          closers.push(() => subscription.close())
          return { received, resume: release, close: () => subscription.close() }
        })
        expect(connections).toBeGreaterThanOrEqual(2)
        return `dropped (event: dropped) behind ${BACKLOG_BYTES / 1024} KB; src/client reconnected from its cursor and got all ${fmt(events)} events, in order, none twice`
      },
    },
    {
      name: 'A slow WebSocket reader stops reading',
      repeat: false,
      async run() {
        const token = tokenOf('slow-ws')
        const received: string[] = []
        const connect = (after: string) =>
          new Promise<WebSocket>((resolve, reject) => {
            const socket = new WebSocket(wsUrl(server.url, '/api/ws'), {
              headers: { authorization: `Bearer ${token}` },
            })
            socket.on('message', (data) => {
              const message = JSON.parse(String(data))
              if (message.type === 'change') received.push(message.event.seq)
            })
            socket.on('error', reject)
            socket.on('open', () => {
              closers.push(() => socket.terminate())
              socket.send(JSON.stringify({ type: 'subscribe', after }))
              resolve(socket)
            })
          })
        const events = await slowReader('ws', 'WebSocket reader', async () => {
          let socket = await connect('0')
          const closed = new Promise<number>((resolve) => socket.on('close', (code) => resolve(code)))
          socket.pause()
          let closing = false
          // As a client does on every 4408: reconnect and subscribe after the last seq received. A
          // replay of thousands of events that this (busy) process reads slower than the server
          // writes is cut off at the same bound, and picks up again from where it got to.
          const reconnect = async () => {
            socket = await connect(received.at(-1) ?? '0')
            socket.on('close', (code) => {
              if (code === 4408 && !closing) reconnect().catch(() => undefined)
            })
          }
          return {
            received,
            async resume() {
              socket.resume()
              expect(await closed).toBe(4408)
              await reconnect()
            },
            close: () => {
              closing = true
              socket.close()
            },
          }
        })
        return `closed 4408 behind ${BACKLOG_BYTES / 1024} KB; resubscribed with after and got all ${fmt(events)} events, in order, none twice`
      },
    },
    {
      name: 'A loop of POST /api/sync/pull with exam_ids, and sync_request on the WebSocket',
      repeat: true,
      async run() {
        const viewer = tokenOf('attacker')
        expect((await api(viewer, 'POST', '/api/sync/pull', { exam_ids: [seededExams[0]] })).status).toBe(403)
        const puller = tokenOf(`puller-${Math.floor(random() * 1e9)}`, ['exams.view', 'sync.run'])
        const answers = await Promise.all(
          Array.from({ length: 30 }, () => api(puller, 'POST', '/api/sync/pull', { exam_ids: [pick(seededExams)] })),
        )
        const outcomes = JSON.stringify(answers.map((a) => `${a.status} ${a.body?.error?.code ?? ''}`.trim()))
        // Merged: the loop costs the running pull and one more, however many it sends; never a 500.
        expect(
          answers.every((a) => a.status === 200 || a.status === 202),
          outcomes,
        ).toBe(true)
        const ran = new Set(answers.filter((a) => a.status === 200).map((a) => JSON.stringify(a.body.result)))
        expect(ran.size, outcomes).toBeLessThanOrEqual(3)

        // The same loop on the WebSocket; a viewer may not ask at all.
        const replies: Data[] = []
        const socket = new WebSocket(wsUrl(server.url, '/api/ws'), { headers: { authorization: `Bearer ${puller}` } })
        closers.push(() => socket.terminate())
        socket.on('message', (data) => {
          const message = JSON.parse(String(data))
          if (message.type === 'sync_result' || message.type === 'error') replies.push(message)
        })
        await new Promise((resolve) => socket.once('open', resolve))
        for (let i = 0; i < 30; i++)
          socket.send(JSON.stringify({ type: 'sync_request', exam_ids: [pick(seededExams)] }))
        await waitUntil(() => replies.length >= 30, 60_000, '30 sync_request answers')
        socket.close()
        const wsOutcomes = JSON.stringify(replies.map((r) => r.code ?? r.type))
        expect(
          replies.every((r) => r.type === 'sync_result' || r.code === 'E_TOO_MANY_PULLS'),
          wsOutcomes,
        ).toBe(true)
        const wsRan = new Set(replies.filter((r) => r.type === 'sync_result').map((r) => JSON.stringify(r.result)))
        expect(wsRan.size, wsOutcomes).toBeLessThanOrEqual(3)
        const viewerSocket = new WebSocket(wsUrl(server.url, '/api/ws'), {
          headers: { authorization: `Bearer ${viewer}` },
        })
        closers.push(() => viewerSocket.terminate())
        const denied = new Promise<Data>((resolve) =>
          viewerSocket.on('message', (data) => {
            const message = JSON.parse(String(data))
            if (message.type === 'error') resolve(message)
          }),
        )
        await new Promise((resolve) => viewerSocket.once('open', resolve))
        viewerSocket.send(JSON.stringify({ type: 'sync_request', exam_ids: [seededExams[0]] }))
        expect((await denied).code).toBe('E_FORBIDDEN')
        viewerSocket.close()
        return `30 targeted pulls at once → ${ran.size} pulls ran (merged), 0 refused; 30 sync_request → ${wsRan.size} pulls ran; a viewer → 403 / E_FORBIDDEN`
      },
    },
    {
      name: 'Force sync: an exams.edit token, and a loop of distinct exams',
      repeat: true,
      async run() {
        const editor = tokenOf('editor', ['exams.view', 'exams.edit'])
        const denied = await api(editor, 'POST', '/api/admin/sync/force?type=exams')
        expect(denied.status).toBe(403)
        expect(denied.body.error.message).toMatch(/sync\.run/)
        const forcer = tokenOf(`forcer-${Math.floor(random() * 1e9)}`, ['exams.view', 'sync.run'])
        const exams = seededExams.slice(0, MAX_QUEUED_PULLS * 2)
        const answers = await Promise.all(
          exams.map((id) => api(forcer, 'POST', `/api/admin/sync/force?type=bookings&examId=${id}`)),
        )
        const statuses = answers.map((a) => a.status).sort()
        expect(statuses).toEqual([...Array(MAX_QUEUED_PULLS).fill(200), ...Array(MAX_QUEUED_PULLS).fill(429)])
        expect(answers.find((a) => a.status === 429)!.body.error.code).toBe('E_TOO_MANY_PULLS')
        return `exams.edit → 403; ${exams.length} force syncs of distinct exams at once → ${MAX_QUEUED_PULLS} ran, ${MAX_QUEUED_PULLS} got 429 E_TOO_MANY_PULLS`
      },
    },
    {
      name: 'The emulator: no token, text/plain, a foreign Host, a huge seed',
      repeat: true,
      async run() {
        expect((await emulatorCall('/_emulator/stats')).status).toBe(401)
        expect((await emulatorCall('/_emulator/reset', { method: 'POST' })).status).toBe(401)
        expect(
          (await emulatorCall('/_emulator/reset', { method: 'POST', headers: { authorization: 'Bearer wrong' } }))
            .status,
        ).toBe(401)
        expect((await emulatorCall('/crm/v3/objects/contacts')).status).toBe(401)
        const auth = { authorization: `Bearer ${HUBSPOT_TOKEN}` }
        const faults = (headers: Record<string, string>, body: string) =>
          emulatorCall('/_emulator/faults', { method: 'POST', headers: { ...auth, ...headers }, body })
        expect((await faults({ 'content-type': 'text/plain' }, '{"latencyMs":5000}')).status).toBe(415)
        expect((await faults({ 'content-type': 'application/x-www-form-urlencoded' }, 'latencyMs=5000')).status).toBe(
          415,
        )
        expect(
          (await faults({ 'content-type': 'application/json', origin: 'http://evil.example' }, '{"latencyMs":5000}'))
            .status,
        ).toBe(403)
        expect(await withHost('evil.example', '/_emulator/health')).toBe(403)
        expect(await withHost('evil.example:80', '/crm/v3/objects/contacts')).toBe(403)
        const seeded = await emulatorCall('/_emulator/seed', {
          method: 'POST',
          headers: { ...auth, 'content-type': 'application/json' },
          body: JSON.stringify({ seed: 5_000_000 }),
        })
        expect(seeded.status).toBe(400)
        // Nothing took: no latency fault is set.
        expect((await (await emulatorCall('/_emulator/faults', { headers: auth })).json()).latencyMs).toBe(0)
        return 'no or wrong token → 401; text/plain and form bodies → 415; a foreign Origin or Host → 403; {"seed":5000000} → 400'
      },
    },
    {
      name: 'Bad URL escapes',
      repeat: true,
      async run() {
        const answers: Record<string, number> = {}
        for (const target of ['/x#%E0', '/%E0', '/a%', '/api/mock-exams/%E0', '/api/events?exam_id=%E0'])
          answers[target] = await rawStatus(target)
        expect(answers['/x#%E0']).toBe(400)
        for (const [target, status] of Object.entries(answers))
          expect([400, 401, 404], `${target} → ${status}`).toContain(status)
        return `raw request lines ${Object.entries(answers)
          .map(([t, s]) => `${t} → ${s}`)
          .join(', ')}`
      },
    },
    {
      name: 'A big batch-cancel',
      repeat: true,
      async run() {
        const ids = (n: number) => Array.from({ length: n }, () => String(9_000_000_000 + Math.floor(random() * 1e9)))
        const tooMany = await api(admin, 'POST', '/api/bookings/batch-cancel', { bookingIds: ids(501) })
        expect(tooMany.status).toBe(400)
        expect(JSON.stringify(tooMany.body.error)).toMatch(/bookingIds/)
        expect(
          (await api(tokenOf('attacker'), 'POST', '/api/bookings/batch-cancel', { bookingIds: ids(5) })).status,
        ).toBe(403)
        const started = Date.now()
        const unknown = await api(
          tokenOf('canceller', ['exams.view', 'bookings.edit']),
          'POST',
          '/api/bookings/batch-cancel',
          {
            bookingIds: ids(500),
          },
        )
        const ms = Date.now() - started
        expect(unknown.status).toBe(200)
        expect(unknown.body.cancelled).toBe(0)
        expect(
          (unknown.body.results as Array<{ outcome: string }>).every((r) => r.outcome === 'E_BOOKING_NOT_FOUND'),
        ).toBe(true)
        return `501 ids → 400 naming bookingIds; a viewer → 403; 500 unknown ids → 200, each E_BOOKING_NOT_FOUND, in ${ms} ms`
      },
    },
  ]

  it(`refuses every attack while the background load keeps its p99 within 2× and loses nothing (${profile})`, async () => {
    const started = Date.now()
    const watched = backgroundExams[0]
    const head = (await logSeqs()).at(-1) ?? '0'
    background = await startBackgroundLoad({
      base: server.url,
      token: admin,
      examIds: backgroundExams,
      watchedExam: watched,
      after: head,
      readers: 3,
      readPauseMs: 25,
      bookingEveryMs: 250,
    })
    await sleep(2_000)
    // The unloaded baseline brackets the attack (half before, half after), so that a change in what
    // else this host is doing during the run moves the baseline and the attacked figures alike.
    background.phase('unloaded')
    const budgetAtStart = budgetWaits(await metrics())
    await sleep(load.abuseUnloadedMs / 2)
    // The attacker (this process) would be on another machine: on a 2-core test host its own client
    // work (parsing 10,000 replayed events, say) must not take the CPU the server and the load need.
    const ownPriority = getPriority()
    setPriority(Math.min(19, ownPriority + 10))
    const attackStarted = Date.now()
    const budgetAtAttack = budgetWaits(await metrics())
    const done: Array<{ name: string; ms: number; said: string; lagMs: number }> = []
    let rounds = 0
    do {
      rounds += 1
      for (const attack of attacks) {
        if (rounds > 1 && !attack.repeat) continue
        background.phase(`attack: ${attack.name}`)
        await serverLag() // resets the server's event-loop delay histogram
        const at = Date.now()
        const said = await attack.run()
        const lagMs = await serverLag()
        const seen = done.find((d) => d.name === attack.name)
        if (seen) seen.lagMs = Math.max(seen.lagMs, lagMs)
        else done.push({ name: attack.name, ms: Date.now() - at, said, lagMs })
      }
    } while (Date.now() - attackStarted < load.abuseAttackMs)
    const attackMs = Date.now() - attackStarted
    background.phase('unloaded again')
    setPriority(ownPriority)
    const budgetAtEnd = budgetWaits(await metrics())
    await sleep(load.abuseUnloadedMs / 2)
    await background.stop()
    const logged = (await logSeqs(watched)).filter((seq) => BigInt(seq) > BigInt(head))
    const result = await background.finish(logged.length)
    background = null

    // The load: every answer a success, and its p99 under attack within p99Limit of its own unloaded p99.
    expect(result.errors).toEqual([])
    const unloaded = {
      reads: [...result.phases.unloaded.reads, ...(result.phases['unloaded again']?.reads ?? [])],
      bookings: [...result.phases.unloaded.bookings, ...(result.phases['unloaded again']?.bookings ?? [])],
    }
    const underAttack = Object.entries(result.phases).filter(([name]) => name.startsWith('attack: '))
    const attacked = {
      reads: underAttack.flatMap(([, samples]) => samples.reads),
      bookings: underAttack.flatMap(([, samples]) => samples.bookings),
    }
    const p99 = {
      readsUnloaded: percentile(unloaded.reads, 0.99),
      readsAttacked: percentile(attacked.reads, 0.99),
      bookingsUnloaded: percentile(unloaded.bookings, 0.99),
      bookingsAttacked: percentile(attacked.bookings, 0.99),
    }
    const round = (n: number) => Math.round(n * 10) / 10
    const figures = {
      seed,
      rounds,
      attackMs,
      attacks: done,
      samples: {
        readsUnloaded: unloaded.reads.length,
        readsAttacked: attacked.reads.length,
        bookingsUnloaded: unloaded.bookings.length,
        bookingsAttacked: attacked.bookings.length,
      },
      p99: Object.fromEntries(Object.entries(p99).map(([k, v]) => [k, round(v)])),
      p50: {
        readsUnloaded: round(percentile(unloaded.reads, 0.5)),
        readsAttacked: round(percentile(attacked.reads, 0.5)),
        bookingsUnloaded: round(percentile(unloaded.bookings, 0.5)),
        bookingsAttacked: round(percentile(attacked.bookings, 0.5)),
      },
      sse: { events: result.sse.seqs.length, retries: result.sse.retries, connections: result.sse.connections },
      /** HubSpot budget per priority in each phase: slots granted and time waited for them. */
      budget: {
        unloaded: budgetDelta(budgetAtStart, budgetAtAttack),
        attack: budgetDelta(budgetAtAttack, budgetAtEnd),
      },
      /** Which attack the slowest background answers came under: p99 / max (ms) of reads and bookings. */
      byAttack: Object.fromEntries(
        underAttack.map(([name, samples]) => [
          name.slice('attack: '.length),
          `reads ${samples.reads.length} p99 ${round(percentile(samples.reads, 0.99))} max ${round(Math.max(...samples.reads))}; bookings ${samples.bookings.length} max ${round(Math.max(...samples.bookings))}`,
        ]),
      ),
    }
    console.log('abuse figures', JSON.stringify(figures, null, 1))
    expect(p99.readsAttacked, 'reads p99 under attack vs unloaded').toBeLessThanOrEqual(p99Limit(p99.readsUnloaded))
    // A p99 of fewer than MIN_P99_SAMPLES samples is just the slowest one or two: the short profile's
    // ~80 bookings per phase report it, the full profile's hold it to 2× (reads always have thousands).
    if (Math.min(unloaded.bookings.length, attacked.bookings.length) >= MIN_P99_SAMPLES)
      expect(p99.bookingsAttacked, 'bookings p99 under attack vs unloaded').toBeLessThanOrEqual(
        p99Limit(p99.bookingsUnloaded),
      )
    else console.log(`bookings p99 not held to 2×: fewer than ${MIN_P99_SAMPLES} samples in a phase`)
    // The dashboard's stream got every event of its exam, in log order, none twice.
    expect(result.sse.seqs).toEqual(logged)

    // /metrics shows the refusals and the budget per priority.
    const text = await metrics()
    for (const kind of ['sse', 'ws', 'long-poll', 'graphql-ws'])
      for (const scope of ['subject', 'server'])
        expect(
          metric(text, new RegExp(`^hubmirror_streams_refused_total\\{kind="${kind}",scope="${scope}"\\}`)),
          `${kind} ${scope}`,
        ).toBeGreaterThanOrEqual(rounds)
    for (const kind of ['sse', 'ws'])
      expect(metric(text, new RegExp(`^hubmirror_streams_dropped_total\\{kind="${kind}"\\}`))).toBeGreaterThanOrEqual(1)
    for (const reason of ['cost', 'aliases', 'size', 'subscriptions'])
      expect(
        metric(text, new RegExp(`^hubmirror_graphql_refused_total\\{reason="${reason}"\\}`)),
        reason,
      ).toBeGreaterThanOrEqual(rounds)
    for (const priority of ['write', 'demand', 'bulk'])
      expect(
        metric(text, new RegExp(`^hubmirror_hubspot_budget_granted_total\\{priority="${priority}"\\}`)),
        priority,
      ).toBeGreaterThan(0)
    for (const priority of ['write', 'demand', 'background', 'bulk'])
      expect(text).toMatch(new RegExp(`^hubmirror_hubspot_budget_waiting\\{priority="${priority}"\\} \\d+`, 'm'))

    const ratio = (a: number, b: number) => `${(a / b).toFixed(2)}×`
    recordFigures({
      scenario: 'abuse',
      order: 8,
      title: 'Hostile clients',
      load: `background: 3 read loops (${fmt(unloaded.reads.length + attacked.reads.length)} reads), a booking every 250 ms (${fmt(result.bookings)}), one SSE stream; ${load.abuseUnloadedMs / 2000} s unloaded, ${(attackMs / 1000).toFixed(0)} s under attack, ${load.abuseUnloadedMs / 2000} s unloaded again (${rounds} rounds of ${attacks.length} attacks)`,
      faults: done.map((a) => `${a.name}: ${a.said}`).join('; '),
      checked: `every attack refused as above; background p99 reads ${round(p99.readsUnloaded)} → ${round(p99.readsAttacked)} ms (${ratio(p99.readsAttacked, p99.readsUnloaded)}), bookings ${round(p99.bookingsUnloaded)} → ${round(p99.bookingsAttacked)} ms (${ratio(p99.bookingsAttacked, p99.bookingsUnloaded)}), limit 2× (or +${P99_NOISE_FLOOR_MS} ms); 0 failed background requests; SSE got all ${logged.length} events of its exam in log order; /metrics counted the refused streams, refused GraphQL operations, drops and the budget per priority`,
      durationMs: Date.now() - started,
      figures: { ...figures, profile },
    })
  }, 1_200_000)
})

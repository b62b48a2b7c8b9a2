// Realtime test clients: an SSE reader and a WebSocket reader that collect messages and wait for them.
import { createClient, type Client } from 'graphql-ws'
import WebSocket from 'ws'
import { createSseParser, type SseMessage } from '../../src/client/sse-parser.js'
import type { ChangeEvent, CommittedEvent } from '../../src/model/records.js'
import { upsertBookings, upsertExams, type Transaction } from '../../src/replica/index.js'
import type { App } from '../../src/app.js'
import type { ExamRecord } from '../../src/model/records.js'
import { afterAll, beforeAll, expect } from 'vitest'
import { makeBooking, startTestApp, type TestApp, type TestAppOptions } from './fixtures.js'

async function until(check: () => boolean, timeoutMs: number, what: () => string): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what()}`)
    await new Promise((resolve) => setTimeout(resolve, 5))
  }
}

export interface SseConnection {
  status: number
  headers: Headers
  /** Raw text received, in order. */
  text(): string
  messages: SseMessage[]
  comments: string[]
  changes(): ChangeEvent[]
  /** Resolves when the server ended the stream. */
  ended: Promise<void>
  isEnded(): boolean
  waitFor(check: (connection: SseConnection) => boolean, timeoutMs?: number): Promise<void>
  waitForEvent(name: string, timeoutMs?: number): Promise<SseMessage>
  close(): void
}

export async function connectSse(url: string, headers: Record<string, string> = {}): Promise<SseConnection> {
  const controller = new AbortController()
  const response = await fetch(url, { headers, signal: controller.signal })
  const messages: SseMessage[] = []
  const comments: string[] = []
  let raw = ''
  let ended = false
  const parser = createSseParser({
    onMessage: (message) => messages.push(message),
    onComment: (text) => comments.push(text),
  })
  const decoder = new TextDecoder()
  const pump = async () => {
    if (!response.body) return
    const reader = response.body.getReader()
    try {
      for (;;) {
        const { value, done } = await reader.read()
        if (done) break
        raw += decoder.decode(value, { stream: true })
        parser.feed(value)
      }
    } catch {
      // aborted by close()
    } finally {
      ended = true
    }
  }
  const connection: SseConnection = {
    status: response.status,
    headers: response.headers,
    text: () => raw,
    messages,
    comments,
    changes: () => messages.filter((m) => m.event === 'change').map((m) => JSON.parse(m.data) as ChangeEvent),
    ended: pump(),
    isEnded: () => ended,
    waitFor: (check, timeoutMs = 5_000) =>
      until(
        () => check(connection),
        timeoutMs,
        () => `SSE condition; got ${JSON.stringify(messages.map((m) => m.event))}`,
      ),
    async waitForEvent(name, timeoutMs = 5_000) {
      await connection.waitFor(() => messages.some((m) => m.event === name), timeoutMs)
      return messages.find((m) => m.event === name) as SseMessage
    },
    close: () => controller.abort(),
  }
  return connection
}

export interface WsMessage {
  type: string
  [key: string]: unknown
}

export interface WsConnection {
  socket: WebSocket
  messages: WsMessage[]
  send(message: unknown): void
  changes(): ChangeEvent[]
  waitFor(check: (messages: WsMessage[]) => boolean, timeoutMs?: number): Promise<void>
  waitForType(type: string, timeoutMs?: number): Promise<WsMessage>
  closed: Promise<{ code: number; reason: string }>
  close(): void
}

/** Resolves once open; rejects with the HTTP status of a refused upgrade ("Unexpected server response: 401"). */
export function connectWs(
  url: string,
  options: { headers?: Record<string, string>; protocols?: string[] } = {},
): Promise<WsConnection> {
  return new Promise((resolve, reject) => {
    const socket = new WebSocket(url, options.protocols ?? [], { headers: options.headers })
    const messages: WsMessage[] = []
    const consumed = new Map<string, number>()
    const closed = new Promise<{ code: number; reason: string }>((done) =>
      socket.on('close', (code, reason) => done({ code, reason: String(reason) })),
    )
    socket.on('message', (data) => messages.push(JSON.parse(String(data)) as WsMessage))
    socket.on('error', reject)
    socket.on('open', () =>
      resolve({
        socket,
        messages,
        send: (message) => socket.send(typeof message === 'string' ? message : JSON.stringify(message)),
        changes: () => messages.filter((m) => m.type === 'change').map((m) => m.event as ChangeEvent),
        waitFor: (check, timeoutMs = 5_000) =>
          until(
            () => check(messages),
            timeoutMs,
            () => `WS condition; got ${JSON.stringify(messages.map((m) => m.type))}`,
          ),
        /** The next message of this type not returned by an earlier call. */
        async waitForType(type, timeoutMs = 5_000) {
          const taken = consumed.get(type) ?? 0
          const ofType = () => messages.filter((m) => m.type === type)
          await until(
            () => ofType().length > taken,
            timeoutMs,
            () => `a "${type}" message; got ${JSON.stringify(messages.map((m) => m.type))}`,
          )
          consumed.set(type, taken + 1)
          return ofType()[taken]
        },
        closed,
        close: () => socket.close(),
      }),
    )
  })
}

export const wsUrl = (httpUrl: string, path: string) => httpUrl.replace(/^http/, 'ws') + path

/** A graphql-ws client of this token on the app at baseUrl: connects at once, never retries, so that a refusal shows. */
export function graphqlWsClient(
  baseUrl: string,
  token: string,
  on: { closed?: (event: unknown) => void } = {},
): Client {
  return createClient({
    url: wsUrl(baseUrl, '/graphql'),
    webSocketImpl: WebSocket,
    connectionParams: { authorization: `Bearer ${token}` },
    retryAttempts: 0,
    lazy: false,
    onNonLazyError: () => undefined,
    on,
  })
}

export interface GraphqlResult {
  data?: unknown
  errors?: Array<{ message: string; extensions?: Record<string, any> }>
}

/** The first result of an operation over graphql-ws: its data or its errors. */
export const firstResult = (client: Client, query: string, variables: Record<string, unknown> = {}) =>
  new Promise<GraphqlResult>((resolve) => {
    const stop = client.subscribe(
      { query, variables },
      {
        next: (result) => {
          stop()
          resolve(result as GraphqlResult)
        },
        error: (errors) => resolve({ errors: errors as GraphqlResult['errors'] }),
        complete: () => undefined,
      },
    )
  })

/** A query of n aliases of one costly field: what a cost or alias limit must refuse. */
export const aliases = (n: number, limit = 1000) =>
  `{ ${Array.from({ length: n }, (_, i) => `a${i}: changes(after: "0", limit: ${limit}) { events { seq } }`).join(' ')} }`

/** The query caps as a graphql-ws client meets them: 300 aliases refused for cost, a 25 KB query for size. */
export async function expectQueryCapsOverWs(client: Client): Promise<void> {
  const costly = await firstResult(client, aliases(300))
  expect(costly.data ?? null).toBeNull()
  expect(costly.errors?.[0].extensions).toMatchObject({ code: 'E_QUERY_TOO_COMPLEX', reason: 'cost' })
  const huge = await firstResult(client, `{ exams { hubspot_id } } # ${'x'.repeat(25_000)}`)
  expect(huge.errors?.[0].extensions).toMatchObject({ code: 'E_QUERY_TOO_COMPLEX', reason: 'size' })
}

/** Commits a transaction on the app's database and returns the events it appended. */
export async function commit(app: App, fn: (tx: Transaction) => Promise<CommittedEvent[]>): Promise<CommittedEvent[]> {
  return app.db.transaction(fn)
}

export const seqs = (events: readonly { seq: string }[]) => events.map((event) => event.seq)

/** A listening app for one test file, its replica holding these exams: the realtime tests' common ground. */
export interface ListeningApp {
  t: TestApp
  url: string
  /** Commits n new bookings of the exam, as the write path would. */
  book(exam: ExamRecord, n?: number): Promise<CommittedEvent[]>
}

export function listeningApp(exams: ExamRecord[], options: TestAppOptions = {}): ListeningApp {
  const live = {
    book: (exam: ExamRecord, n = 1) =>
      commit(live.t.app, (tx) =>
        upsertBookings(
          tx,
          Array.from({ length: n }, () => makeBooking(exam)),
          'write',
        ),
      ),
  } as ListeningApp
  beforeAll(async () => {
    live.t = await startTestApp(options)
    live.url = await live.t.app.listen()
    await commit(live.t.app, (tx) => upsertExams(tx, exams, 'manual'))
  })
  afterAll(() => live.t?.close())
  return live
}

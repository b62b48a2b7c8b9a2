// A node:http stand-in for hubmirror's realtime and REST endpoints with fault switches, for hubmirror/client's unit tests.
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { BOOKING_FIELDS } from '../../src/model/objects/booking.js'
import { blankRecord } from '../../src/model/objects/field.js'
import type { BookingRecord, ChangeEvent } from '../../src/model/records.js'
import { LogEntry } from '../../src/realtime/log-entry.js'

export interface FakeRequest {
  path: string
  query: URLSearchParams
  headers: IncomingMessage['headers']
}

export interface FakeServer {
  url: string
  /** Every request received, in order. */
  requests: FakeRequest[]
  /** Appends a change to the log and pushes it to connected SSE clients and waiting long-polls. */
  publish(partial?: Partial<ChangeEvent>): ChangeEvent
  /** Events with a seq below this are "past retention": resuming before it gets a refetch answer. */
  setRetentionFloor(seq: number): void
  /** Destroys every open SSE socket, optionally after writing half of the next event. */
  dropStreams(options?: { partial?: boolean }): void
  /** Makes `/api/events` answer this status (or hang silently with `'silent'`) until reset with null. */
  setSseFault(fault: number | 'silent' | null): void
  /** Re-sends this many already-seen events on every SSE (re)connect, as an at-least-once server may. */
  setReplayOverlap(n: number): void
  setHeartbeat(ms: number | null): void
  /** Next responses for a REST route: `'GET /api/x'` → queue of [status, body, headers]. */
  stub(route: string, status: number, body: unknown, headers?: Record<string, string>): void
  openStreams(): number
  close(): Promise<void>
}

export async function startFakeServer(): Promise<FakeServer> {
  const log: ChangeEvent[] = []
  const requests: FakeRequest[] = []
  const streams = new Set<{ res: ServerResponse; examIds: string[] | null }>()
  const waiters = new Set<() => void>()
  const stubs = new Map<string, [number, unknown, Record<string, string>][]>()
  let floor = 1
  let sseFault: number | 'silent' | null = null
  let overlap = 0
  let heartbeatMs: number | null = null

  const head = () => String(log.length)
  const matches = (e: ChangeEvent, ids: string[] | null) => !ids || (e.exam_id !== null && ids.includes(e.exam_id))
  // The server's own encoder, so that the client is tested against the frames the server sends.
  const frame = (e: ChangeEvent) => new LogEntry(e).sse()
  const json = (res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}) => {
    res.writeHead(status, { 'content-type': 'application/json', ...headers })
    res.end(JSON.stringify(body))
  }

  const server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://x')
    requests.push({ path: url.pathname, query: url.searchParams, headers: req.headers })
    const stubbed = stubs.get(`${req.method} ${url.pathname}`)?.shift()
    if (stubbed) return json(res, stubbed[0], stubbed[1], stubbed[2])
    if (req.headers.authorization !== 'Bearer t0k') {
      return json(res, 401, { success: false, error: { code: 'E_UNAUTHORIZED', message: 'no token' } })
    }
    const ids = url.searchParams.get('exam_ids')?.split(',').filter(Boolean) ?? null
    const afterText = (req.headers['last-event-id'] as string | undefined) ?? url.searchParams.get('after')
    const after = afterText === null || afterText === undefined ? null : Number(afterText)

    if (url.pathname === '/api/events') {
      if (sseFault === 'silent') {
        res.writeHead(200, { 'content-type': 'text/event-stream' })
        res.flushHeaders()
        streams.add({ res, examIds: ids })
        res.on('close', () => streams.forEach((s) => s.res === res && streams.delete(s)))
        return
      }
      if (typeof sseFault === 'number')
        return json(res, sseFault, { success: false, error: { code: 'E_INTERNAL', message: 'boom' } })
      res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' })
      res.write('retry: 20\n\n')
      if (after !== null && after < floor - 1) {
        res.end(`event: refetch\ndata: {"seq":"${head()}"}\n\n`)
        return
      }
      const from = after === null ? log.length : Math.max(0, after - overlap)
      for (const e of log.slice(from)) if (matches(e, ids)) res.write(frame(e))
      res.write(`event: ready\ndata: {"seq":"${head()}"}\n\n`)
      const entry = { res, examIds: ids }
      streams.add(entry)
      const hb = heartbeatMs === null ? null : setInterval(() => res.write(': hb\n\n'), heartbeatMs)
      res.on('close', () => {
        streams.delete(entry)
        if (hb) clearInterval(hb)
      })
      return
    }

    if (url.pathname === '/api/long-poll') {
      // As the real server: `after` is required.
      if (after === null)
        return json(res, 400, {
          success: false,
          error: { code: 'E_VALIDATION', message: 'after: required', field: 'after' },
        })
      if (after < floor - 1) {
        return json(res, 410, { success: false, error: { code: 'E_CURSOR_EXPIRED', message: 'gone', seq: head() } })
      }
      const answer = () => {
        const from = after
        const events = log.slice(from).filter((e) => matches(e, ids))
        json(res, 200, { success: true, events, cursor: head() })
      }
      if (log.length > after) return answer()
      const wake = () => {
        waiters.delete(wake)
        clearTimeout(timer)
        answer()
      }
      const timer = setTimeout(wake, url.searchParams.get('timeout_ms') === '0' ? 0 : 2_000)
      waiters.add(wake)
      res.on('close', () => {
        waiters.delete(wake)
        clearTimeout(timer)
      })
      return
    }

    if (url.pathname === '/api/mock-exams/aggregates') {
      return json(res, 200, { success: true, aggregates: {} }, { 'x-replica-seq': head() })
    }
    const bookings = /^\/api\/mock-exams\/([^/]+)\/bookings$/.exec(url.pathname)
    if (bookings) {
      const examId = decodeURIComponent(bookings[1] as string)
      const rows = new Map<string, BookingRecord>()
      for (const e of log) {
        if (e.kind !== 'booking' || e.exam_id !== examId) continue
        if (e.op === 'delete') rows.delete(e.hubspot_id)
        else rows.set(e.hubspot_id, e.row as BookingRecord)
      }
      return json(res, 200, { success: true, bookings: [...rows.values()] }, { 'x-replica-seq': head() })
    }
    json(res, 404, { success: false, error: { code: 'E_NOT_FOUND', message: url.pathname } })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as AddressInfo

  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    publish(partial = {}) {
      const seq = String(log.length + 1)
      const hubspotId = partial.hubspot_id ?? `b${seq}`
      const examId = partial.exam_id === undefined ? 'e1' : partial.exam_id
      const event: ChangeEvent = {
        seq,
        kind: 'booking',
        op: 'upsert',
        hubspot_id: hubspotId,
        exam_id: examId,
        source: 'write',
        at: new Date().toISOString(),
        changes: null,
        origin: null,
        row: bookingRow(hubspotId, examId),
        ...partial,
      }
      log.push(event)
      for (const s of streams) if (matches(event, s.examIds)) s.res.write(frame(event))
      for (const wake of [...waiters]) wake()
      return event
    },
    setRetentionFloor(seq) {
      floor = seq
    },
    dropStreams({ partial = false } = {}) {
      for (const s of streams) {
        if (partial) s.res.write(`id: ${log.length + 1}\nevent: change\ndata: {"seq":"${log.length + 1}",`)
        s.res.socket?.destroy()
      }
      streams.clear()
    },
    setSseFault(fault) {
      sseFault = fault
    },
    setReplayOverlap(n) {
      overlap = n
    },
    setHeartbeat(ms) {
      heartbeatMs = ms
    },
    stub(route, status, body, headers = {}) {
      const queue = stubs.get(route) ?? []
      queue.push([status, body, headers])
      stubs.set(route, queue)
    },
    openStreams: () => streams.size,
    async close() {
      for (const s of streams) s.res.socket?.destroy()
      for (const wake of [...waiters]) wake()
      server.closeAllConnections()
      await new Promise<void>((resolve) => server.close(() => resolve()))
    },
  }
}

export function bookingRow(
  hubspotId: string,
  examId: string | null,
  patch: Partial<BookingRecord> = {},
): BookingRecord {
  return blankRecord(BOOKING_FIELDS, hubspotId, {
    booking_id: `key-${hubspotId}`,
    mock_exam_id: examId,
    student_name: `Student ${hubspotId}`,
    student_email: `${hubspotId}@example.com`,
    booking_status: 'confirmed',
    is_active: 'true',
    exam_date: '2030-01-01',
    created_at: null,
    updated_at: null,
    ...patch,
  })
}

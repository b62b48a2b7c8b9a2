// The realtime subscription: SSE over fetch (falling back to long-poll), resumed from a cursor.
//
//   start ─► connecting ─first data─► live ─stream ends/stalls─► reconnecting ─backoff─► (connect)
//                 │                                   ▲                │
//                 └──────── failure ──────────────────┘                └─ ≥3 failures ─► offline (still retrying)
//   refetch answer ─► paused (onRefetch) ─resume(seq)─► connecting      401/403/400 ─► offline, stopped
//   live ─token near expiry, source has a newer one─► (reconnect from the cursor, status stays live)
//   event: reauth (the server ended the stream at exp) ─► connect at once with the source's token;
//   401 with the same token ─► offline, stopped; 401 but the source has a newer token ─► retry
import { authHeaders, joinUrl, resolveToken } from './api.js'
import { HubmirrorError } from './errors.js'
import { compareSeq, isSeq, normalizeSeq } from '../model/seq.js'
import { createSseParser, type SseMessage } from './sse-parser.js'
import { decodeTokenPayload } from './token.js'
import type { ChangeEvent, ClientOptions } from './types.js'

export type ChangeStatus = 'connecting' | 'live' | 'reconnecting' | 'offline'
export type Transport = 'sse' | 'long-poll'

export interface SubscribeOptions extends ClientOptions {
  /** Only these exams' changes; omitted or empty means every exam. */
  examIds?: string[]
  /** Deliver changes after this seq (e.g. the `seq` of a snapshot). Omitted: from "now". */
  after?: string | null
  /** Preferred transport; SSE falls back to long-poll after repeated quick failures. */
  transport?: Transport
  onEvent(event: ChangeEvent): void
  onStatus?(status: ChangeStatus): void
  /**
   * The cursor is older than the server's retention: reload a snapshot, then call
   * `resume(snapshotSeq)`. Nothing is streamed until then, so nothing is silently lost.
   */
  onRefetch(headSeq: string): void
  /** A failure retrying cannot fix (401, 403, 400); the subscription has stopped. */
  onError?(error: HubmirrorError): void
  onTransport?(transport: Transport): void
  /** Tuning, mostly for tests. */
  minBackoffMs?: number
  maxBackoffMs?: number
  /** A stream with no bytes (not even a heartbeat) for this long is treated as dead. */
  heartbeatTimeoutMs?: number
  /** Client-side cap on one long-poll request (the server answers within 25 s). */
  longPollTimeoutMs?: number
  /** SSE attempts that fail this many times in a row, quickly, switch to long-poll. */
  fallbackAfterFailures?: number
  /** An attempt that dies sooner than this without a single message counts as a quick failure. */
  quickFailureMs?: number
  /** Consecutive failed attempts after which the status reads `offline`. */
  offlineAfterFailures?: number
  random?: () => number
  /**
   * How long before its token's `exp` an SSE stream is reopened with a newer token from `token`
   * (when the source has one by then; it is asked again every half second until expiry).
   * Default: a fifth of the token's remaining life, at most a minute.
   */
  refreshAheadMs?: number
}

/** ms since the epoch at which a token expires, or null when it does not say. */
function tokenExpiry(token: string | null): number | null {
  const exp = token ? decodeTokenPayload(token)?.exp : undefined
  return typeof exp === 'number' ? exp * 1000 : null
}

export interface Subscription {
  close(): void
  /** The seq of the last change delivered (or the head announced by `ready`), or null. */
  cursor(): string | null
  /** Restarts streaming, from `fromSeq` when given (a fresh snapshot's seq), else from the cursor. */
  resume(fromSeq?: string | null): void
  status(): ChangeStatus
  transport(): Transport
}

type Outcome =
  | { kind: 'ok' }
  | { kind: 'ended' }
  | { kind: 'failed'; quick: boolean; error?: unknown; retryAfterMs?: number }
  | { kind: 'refetch'; head: string }
  | { kind: 'fatal'; error: HubmirrorError }
  | { kind: 'superseded' }
  | { kind: 'reauth' }

export function subscribeChanges(options: SubscribeOptions): Subscription {
  const doFetch = options.fetch ?? globalThis.fetch
  const minBackoff = options.minBackoffMs ?? 250
  const maxBackoff = options.maxBackoffMs ?? 10_000
  const heartbeatTimeout = options.heartbeatTimeoutMs ?? 45_000
  const longPollTimeout = options.longPollTimeoutMs ?? 35_000
  const fallbackAfter = options.fallbackAfterFailures ?? 3
  const quickFailureMs = options.quickFailureMs ?? 5_000
  const offlineAfter = options.offlineAfterFailures ?? 3
  const random = options.random ?? Math.random
  const examIds = (options.examIds ?? []).filter((id) => id !== '')

  let cursor = normalizeSeq(options.after ?? null)
  let transport: Transport = options.transport ?? 'sse'
  let status: ChangeStatus = 'connecting'
  let closed = false
  let paused = false
  let everLive = false
  let failures = 0
  let quickSseFailures = 0
  let serverRetryMs: number | null = null
  // Each start() bumps the generation; a loop that sees a newer one stops touching state.
  let generation = 0
  let controller: AbortController | null = null
  // The first long-poll after (re)connecting asks not to wait, so "live" means caught up, not 25 s later.
  let catchingUp = true
  let wake: (() => void) | null = null
  // The token the current connection was opened with, and the timer that replaces it before expiry.
  let connectedToken: string | null = null
  let refreshTimer: ReturnType<typeof setTimeout> | undefined

  const setStatus = (next: ChangeStatus) => {
    if (closed || next === status) return
    status = next
    safely(() => options.onStatus?.(next))
  }

  const markHealthy = () => {
    failures = 0
    if (transport === 'sse') quickSseFailures = 0
    everLive = true
    setStatus('live')
  }

  const deliver = (event: ChangeEvent) => {
    const seq = event.seq
    if (isSeq(seq)) {
      // At-least-once delivery across reconnects is expected; the cursor makes it exactly-once.
      if (cursor !== null && compareSeq(seq, cursor) <= 0) return
      cursor = seq
    }
    safely(() => options.onEvent(event))
  }

  const onOnline = () => wake?.()
  const target = globalThis as unknown as Partial<Pick<Window, 'addEventListener' | 'removeEventListener'>>
  target.addEventListener?.('online', onOnline)

  function query(extra: string[] = []): string {
    const parts: string[] = []
    if (examIds.length > 0) parts.push(`exam_ids=${examIds.map(encodeURIComponent).join(',')}`)
    if (cursor !== null) parts.push(`after=${cursor}`)
    parts.push(...extra)
    return parts.length > 0 ? `?${parts.join('&')}` : ''
  }

  function start(quiet = false): void {
    const gen = ++generation
    catchingUp = true
    clearTimeout(refreshTimer)
    controller?.abort()
    controller = null
    wake?.()
    if (!quiet) setStatus(everLive || failures > 0 ? 'reconnecting' : 'connecting')
    void run(gen)
  }

  /**
   * Streams end at their token's expiry: shortly before it, reopen with the newer token the
   * source has by then (Last-Event-ID carries the cursor, so nothing is lost or doubled).
   */
  function armRefresh(gen: number, token: string | null): void {
    clearTimeout(refreshTimer)
    const expiresAt = tokenExpiry(token)
    if (expiresAt === null) return
    const left = expiresAt - Date.now()
    const ahead = options.refreshAheadMs ?? Math.min(60_000, left / 5)
    const check = () => {
      if (closed || gen !== generation) return
      const next = resolveToken(options.token)
      if (next && next !== token && (tokenExpiry(next) ?? Infinity) > expiresAt) return start(true)
      if (Date.now() < expiresAt) refreshTimer = setTimeout(check, 500)
    }
    refreshTimer = setTimeout(check, Math.max(0, left - ahead))
  }

  async function run(gen: number): Promise<void> {
    while (!closed && !paused && gen === generation) {
      const outcome = transport === 'sse' ? await runSse(gen) : await runLongPoll(gen)
      if (closed || gen !== generation || outcome.kind === 'superseded') return
      switch (outcome.kind) {
        case 'ok':
        case 'reauth':
          // reauth: the server ended the stream at the token's expiry; come back at once with the current one.
          continue
        case 'refetch':
          paused = true
          setStatus('reconnecting')
          safely(() => options.onRefetch(outcome.head))
          return
        case 'fatal':
          paused = true
          setStatus('offline')
          safely(() => options.onError?.(outcome.error))
          return
        case 'ended':
          // A healthy stream closed by the server (deploy, proxy timeout): come straight back.
          setStatus('reconnecting')
          await sleep(jitter(baseDelay()), gen)
          continue
        case 'failed': {
          failures++
          catchingUp = true
          if (transport === 'sse' && outcome.quick && options.transport !== 'long-poll') {
            quickSseFailures++
            if (quickSseFailures >= fallbackAfter) {
              transport = 'long-poll'
              safely(() => options.onTransport?.('long-poll'))
            }
          }
          const offline = failures >= offlineAfter || (typeof navigator !== 'undefined' && navigator.onLine === false)
          setStatus(offline ? 'offline' : 'reconnecting')
          const backoff = jitter(Math.min(maxBackoff, baseDelay() * 2 ** (failures - 1)))
          // 429 (E_TOO_MANY_STREAMS): the server says when a slot may be free again.
          await sleep(Math.max(backoff, outcome.retryAfterMs ?? 0), gen)
          continue
        }
      }
    }
  }

  function baseDelay(): number {
    return Math.min(maxBackoff, Math.max(minBackoff, serverRetryMs ?? minBackoff))
  }

  // "Equal jitter": never less than half the delay, so a herd of clients spreads out but none spins.
  function jitter(ms: number): number {
    return ms / 2 + random() * (ms / 2)
  }

  function sleep(ms: number, gen: number): Promise<void> {
    return new Promise((resolve) => {
      if (closed || gen !== generation) return resolve()
      const timer = setTimeout(done, ms)
      function done() {
        clearTimeout(timer)
        if (wake === done) wake = null
        resolve()
      }
      wake = done
    })
  }

  function requestHeaders(accept: string): Record<string, string> {
    connectedToken = resolveToken(options.token)
    const headers: Record<string, string> = { accept, ...authHeaders(connectedToken) }
    if (cursor !== null) headers['last-event-id'] = cursor
    return headers
  }

  async function failureFromResponse(res: Response, quick: boolean): Promise<Outcome> {
    const body = await res.json().catch(() => null)
    const error = HubmirrorError.fromBody(res.status, body)
    if (res.status === 410 || error.code === 'E_CURSOR_EXPIRED') {
      return { kind: 'refetch', head: headFrom(body, res) }
    }
    // Refused, but the application has signed in again (or refreshed) meanwhile: try that token.
    if (res.status === 401 && resolveToken(options.token) !== connectedToken) return { kind: 'failed', quick, error }
    if (res.status === 400 || res.status === 401 || res.status === 403) return { kind: 'fatal', error }
    if (res.status === 429) {
      const seconds = Number(res.headers.get('retry-after'))
      // Not a transport problem: long-poll is limited the same way, so no fallback.
      return {
        kind: 'failed',
        quick: false,
        error,
        retryAfterMs: seconds > 0 ? Math.min(seconds * 1000, 60_000) : undefined,
      }
    }
    return { kind: 'failed', quick, error }
  }

  async function runSse(gen: number): Promise<Outcome> {
    const ac = new AbortController()
    controller = ac
    const startedAt = Date.now()
    let gotMessage = false
    let stalled = false
    let refetchHead: string | null = null
    /** The server cut us off as a slow reader (`event: dropped`): reconnect at once from the cursor. */
    let dropped = false
    /** The token expired and the server ended the stream (`event: reauth`). */
    let reauth = false
    let watchdog: ReturnType<typeof setTimeout> | undefined
    const feedWatchdog = () => {
      clearTimeout(watchdog)
      watchdog = setTimeout(() => {
        stalled = true
        ac.abort()
      }, heartbeatTimeout)
    }
    const isQuick = () => !gotMessage && Date.now() - startedAt < quickFailureMs

    const onMessage = (message: SseMessage) => {
      if (refetchHead !== null || gen !== generation) return
      gotMessage = true
      switch (message.event) {
        case 'change':
        case 'message': {
          const event = parseJson(message.data) as ChangeEvent | null
          if (!event || typeof event !== 'object') return
          if (!isSeq(event.seq) && isSeq(message.id)) event.seq = message.id
          markHealthy()
          deliver(event)
          return
        }
        case 'ready': {
          const head = normalizeSeq((parseJson(message.data) as { seq?: unknown } | null)?.seq)
          // Only adopt the head when we had no position: then "after head" is exactly what we saw.
          if (cursor === null && head !== null) cursor = head
          markHealthy()
          return
        }
        case 'refetch': {
          const head = normalizeSeq((parseJson(message.data) as { seq?: unknown } | null)?.seq)
          refetchHead = head ?? ''
          ac.abort()
          return
        }
        case 'dropped':
          dropped = true
          return
        case 'reauth':
          reauth = true
          return
        default:
          markHealthy()
      }
    }
    const parser = createSseParser({
      onMessage,
      // A heartbeat proves the connection alive (watchdog fed above) but not caught up: no `live`.
      onComment: () => {
        gotMessage = true
      },
      onRetry: (ms) => {
        serverRetryMs = ms
      },
    })

    try {
      feedWatchdog()
      const res = await doFetch(joinUrl(options.baseUrl, `/api/events${query()}`), {
        headers: { ...requestHeaders('text/event-stream'), 'cache-control': 'no-cache' },
        signal: ac.signal,
      })
      if (gen !== generation) return { kind: 'superseded' }
      if (!res.ok) return await failureFromResponse(res, isQuick())
      const type = res.headers.get('content-type') ?? ''
      if (!type.includes('text/event-stream') || !res.body) {
        await res.body?.cancel().catch(() => {})
        return { kind: 'failed', quick: isQuick() }
      }
      armRefresh(gen, connectedToken)
      const reader = res.body.getReader()
      try {
        for (;;) {
          const { done, value } = await reader.read()
          if (done) break
          feedWatchdog()
          parser.feed(value)
          if (refetchHead !== null || gen !== generation) break
        }
      } finally {
        reader.cancel().catch(() => {})
      }
      parser.end()
    } catch (error) {
      if (gen !== generation || closed) return { kind: 'superseded' }
      if (refetchHead !== null) return { kind: 'refetch', head: refetchHead }
      if (stalled) return { kind: 'failed', quick: false, error }
      return { kind: 'failed', quick: isQuick(), error }
    } finally {
      clearTimeout(watchdog)
      if (gen === generation) clearTimeout(refreshTimer)
      if (controller === ac) controller = null
    }
    if (gen !== generation || closed) return { kind: 'superseded' }
    if (refetchHead !== null) return { kind: 'refetch', head: refetchHead }
    if (reauth) return { kind: 'reauth' }
    return gotMessage || dropped ? { kind: 'ended' } : { kind: 'failed', quick: isQuick() }
  }

  /**
   * Long-poll needs a position to wait after. "From now" is the head, which every read reports in
   * X-Replica-Seq; the aggregates are the smallest read (and cached).
   */
  async function resolveHead(signal: AbortSignal): Promise<string | null> {
    const res = await doFetch(joinUrl(options.baseUrl, '/api/mock-exams/aggregates'), {
      headers: { accept: 'application/json', ...authHeaders(options.token) },
      signal,
    })
    await res.body?.cancel().catch(() => {})
    if (!res.ok) return null
    return normalizeSeq(res.headers.get('x-replica-seq'))
  }

  async function runLongPoll(gen: number): Promise<Outcome> {
    const ac = new AbortController()
    controller = ac
    const startedAt = Date.now()
    let timedOut = false
    const timer = setTimeout(() => {
      timedOut = true
      ac.abort()
    }, longPollTimeout)
    try {
      if (cursor === null) {
        const head = await resolveHead(ac.signal)
        if (gen !== generation || closed) return { kind: 'superseded' }
        if (head === null) return { kind: 'failed', quick: false }
        cursor = head
      }
      const res = await doFetch(
        joinUrl(options.baseUrl, `/api/long-poll${query(catchingUp ? ['timeout_ms=0'] : [])}`),
        {
          headers: requestHeaders('application/json'),
          signal: ac.signal,
        },
      )
      if (gen !== generation) return { kind: 'superseded' }
      if (!res.ok) return await failureFromResponse(res, false)
      const body = (await res.json().catch(() => null)) as {
        success?: boolean
        events?: ChangeEvent[]
        cursor?: unknown
      } | null
      if (gen !== generation || closed) return { kind: 'superseded' }
      if (!body || body.success !== true || !Array.isArray(body.events)) {
        return { kind: 'failed', quick: false }
      }
      catchingUp = false
      markHealthy()
      for (const event of body.events) {
        if (gen !== generation || closed) return { kind: 'superseded' }
        deliver(event)
      }
      const next = normalizeSeq(body.cursor)
      if (next !== null && (cursor === null || compareSeq(next, cursor) > 0)) cursor = next
      // A server that answers at once with nothing would otherwise be polled in a tight loop.
      if (body.events.length === 0 && Date.now() - startedAt < 100) await sleep(minBackoff, gen)
      return { kind: 'ok' }
    } catch (error) {
      if (gen !== generation || closed) return { kind: 'superseded' }
      return { kind: 'failed', quick: false, error: timedOut ? new Error('long-poll timed out') : error }
    } finally {
      clearTimeout(timer)
      if (controller === ac) controller = null
    }
  }

  start()

  return {
    close() {
      if (closed) return
      closed = true
      generation++
      clearTimeout(refreshTimer)
      controller?.abort()
      controller = null
      wake?.()
      target.removeEventListener?.('online', onOnline)
    },
    cursor: () => cursor,
    resume(fromSeq) {
      if (closed) return
      if (fromSeq !== undefined) cursor = normalizeSeq(fromSeq)
      paused = false
      failures = 0
      start()
    },
    status: () => status,
    transport: () => transport,
  }
}

function headFrom(body: unknown, res: Response): string {
  const err = (body as { error?: Record<string, unknown> } | null)?.error
  const details = err?.details as Record<string, unknown> | undefined
  const candidates = [err?.seq, err?.head, details?.seq, details?.head, (body as { seq?: unknown } | null)?.seq]
  for (const c of candidates) {
    const seq = normalizeSeq(c)
    if (seq !== null) return seq
  }
  return normalizeSeq(res.headers.get('x-replica-seq')) ?? ''
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text)
  } catch {
    return null
  }
}

// A throwing callback must not kill the stream, nor crash a Node process; it is still reported.
function safely(fn: () => void): void {
  try {
    fn()
  } catch (error) {
    const report = (globalThis as { reportError?: (e: unknown) => void }).reportError
    if (typeof report === 'function') report(error)
    else console.error('hubmirror client: a subscription callback threw', error)
  }
}

// A reader that stops reading among 1,000 that read: it is dropped at its backlog bound, and the others never wait for it.
import { connect, type Socket } from 'node:net'
import { afterAll, describe, expect, it } from 'vitest'
import { upsertBookings } from '../../src/replica/index.js'
import { bearer, makeBooking, makeExam } from '../support/fixtures.js'
import { commit, listeningApp } from '../support/streams.js'

const FAST = 1_000
const BACKLOG_BYTES = 64 * 1024
/**
 * Big exam-B commits (bookings with 50 KB names) fill the slow reader's socket and the kernel's
 * buffers (several MB on loopback); each round also commits one exam-A event.
 */
const SLOW_BATCH = 10
const BIG_NAME = 'x'.repeat(50_000)
const MAX_ROUNDS = 200

const CHANGE = 'event: change\n'

/** A lean EventSource-alike over raw TCP: keeps the text, so frames are counted, not timed. */
class RawSse {
  readonly socket: Socket
  text = ''
  ended = false
  #changes = 0
  #scanned = 0
  readonly ready: Promise<void>

  constructor(url: URL, path: string, headers: Record<string, string> = {}, paused = false) {
    this.socket = connect({ host: url.hostname, port: Number(url.port) })
    const extra = Object.entries(headers)
      .map(([name, value]) => `${name}: ${value}\r\n`)
      .join('')
    this.socket.write(`GET ${path} HTTP/1.1\r\nHost: ${url.host}\r\nAccept: text/event-stream\r\n${extra}\r\n`)
    this.socket.setEncoding('latin1')
    let isReady = false
    this.ready = new Promise((resolve, reject) => {
      this.socket.on('data', (chunk: string) => {
        this.text += chunk
        if (!isReady && this.text.includes('event: ready\n')) {
          isReady = true
          resolve()
          // The slow reader stops here (until the test resumes it): the kernel buffers fill, then the server's backlog.
          if (paused) this.socket.pause()
        }
      })
      this.socket.once('error', reject)
    })
    this.socket.once('close', () => (this.ended = true))
  }

  /** `id:` lines of change frames, in the order received. */
  ids(): string[] {
    return [...this.text.matchAll(/^id: (\d+)\nevent: change\n/gm)].map((match) => match[1])
  }

  /** Counted as text arrives (only the new part is searched), so a poll over 1,000 readers stays cheap. */
  changes(): number {
    for (let at = this.text.indexOf(CHANGE, this.#scanned); at !== -1; at = this.text.indexOf(CHANGE, at + 1)) {
      this.#changes++
      this.#scanned = at + 1
    }
    this.#scanned = Math.max(this.#scanned, this.text.length - CHANGE.length + 1)
    return this.#changes
  }
}

/** Waits on a counted condition (no wall-clock assertion: the test's own timeout is the only bound). */
async function until(check: () => boolean | Promise<boolean>, what: () => string): Promise<void> {
  for (let i = 0; !(await check()); i++) {
    if (i > 20_000) throw new Error(`gave up waiting for ${what()}`)
    await new Promise((resolve) => setTimeout(resolve, 5))
  }
}

describe('a slow SSE reader among 1,000 fast ones', () => {
  const examA = makeExam()
  const examB = makeExam()
  const live = listeningApp([examA, examB], {
    env: {
      HUBMIRROR_STREAM_BACKLOG_BYTES: String(BACKLOG_BYTES),
      HUBMIRROR_MAX_STREAMS_PER_SUBJECT: String(FAST + 10),
      HUBMIRROR_MAX_STREAMS: String(FAST + 10),
    },
  })
  const sockets: RawSse[] = []
  afterAll(() => sockets.forEach((reader) => reader.socket.destroy()))

  const dropped = async () => {
    const text = await (await fetch(`${live.url}/metrics`, { headers: bearer(live.t.token) })).text()
    const line = text.split('\n').find((l) => l.startsWith('hubmirror_streams_dropped_total{kind="sse"}'))
    return Number(line?.split(' ').pop() ?? 0)
  }

  it('drops the slow one at its bound; every fast one has every event at every step, and the slow one resumes losing nothing', async () => {
    const url = new URL(live.url)
    const auth = `access_token=${live.t.token}`
    const fast = Array.from({ length: FAST }, () => new RawSse(url, `/api/events?exam_id=${examA.hubspot_id}&${auth}`))
    sockets.push(...fast)
    await Promise.all(fast.map((reader) => reader.ready))
    const slow = new RawSse(url, `/api/events?${auth}`, {}, true)
    sockets.push(slow)
    await slow.ready
    const droppedBefore = await dropped()

    // Each round: one exam-A event that every fast reader must have before the next round, and a
    // big exam-B commit that only the (unfiltered, not reading) slow reader is sent.
    let sentA = 0
    let rounds = 0
    const everyFastHas = (n: number) => fast.every((reader) => reader.changes() >= n)
    while ((await dropped()) === droppedBefore) {
      expect(rounds++, 'the slow reader was never dropped').toBeLessThan(MAX_ROUNDS)
      await commit(live.t.app, (tx) =>
        upsertBookings(
          tx,
          Array.from({ length: SLOW_BATCH }, () => makeBooking(examB, { student_name: BIG_NAME })),
          'write',
        ),
      )
      await live.book(examA)
      sentA++
      await until(
        () => everyFastHas(sentA),
        () => `every fast reader to have ${sentA} events (slowest has ${Math.min(...fast.map((r) => r.changes()))})`,
      )
    }
    // After the drop the fan-out goes on as before.
    for (let i = 0; i < 5; i++) {
      await live.book(examA)
      sentA++
      await until(
        () => everyFastHas(sentA),
        () => `every fast reader to have ${sentA} events after the drop`,
      )
    }
    expect(fast.every((reader) => reader.changes() === sentA && !reader.ended)).toBe(true)
    expect(await dropped()).toBe(droppedBefore + 1)

    // The slow reader reads again: what was queued, then `event: dropped`, then the end of the stream.
    slow.socket.resume()
    // The response ends (its last chunk) on a connection that HTTP keeps alive.
    await until(
      () => slow.ended || slow.text.endsWith('\r\n0\r\n\r\n'),
      () => 'the dropped stream to end',
    )
    expect(slow.text).toContain('event: dropped\ndata: {"code":"E_SLOW_CONSUMER"')
    const seen = slow.ids()
    expect(seen.length).toBeGreaterThan(0)
    // It resumes from its cursor and gets the rest: every event of both exams, none twice, in order.
    const resumed = new RawSse(url, `/api/events?${auth}`, { 'Last-Event-ID': seen[seen.length - 1] })
    sockets.push(resumed)
    await resumed.ready
    const all = [...seen, ...resumed.ids()]
    const total = rounds * (SLOW_BATCH + 1) + 5
    expect(all.length).toBe(total)
    const numbers = all.map(BigInt)
    for (let i = 1; i < numbers.length; i++) expect(numbers[i]).toBe(numbers[i - 1] + 1n)
  }, 180_000)
})

// The background load's process (forked by background-load.ts): read loops, a booking loop and one SSE follower.
import { setTimeout as sleep } from 'node:timers/promises'
import type { BackgroundLoadOptions, BackgroundResult, PhaseSamples } from './background-load.js'
import { followSse, type ResumableFeed } from './resumable-streams.js'

let phase = 'warmup'
let stopped = false
const phases: Record<string, PhaseSamples> = {}
const errors: string[] = []
let booked = 0
let feed: ResumableFeed | null = null
const loops: Array<Promise<void>> = []

const samplesOf = (name: string) => (phases[name] ??= { reads: [], bookings: [] })

async function timed(
  options: BackgroundLoadOptions,
  method: string,
  path: string,
  body?: unknown,
): Promise<{ status: number; ms: number; text: string }> {
  const started = performance.now()
  try {
    const response = await fetch(options.base + path, {
      method,
      headers: {
        authorization: `Bearer ${options.token}`,
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      },
      body: body === undefined ? undefined : JSON.stringify(body),
      signal: AbortSignal.timeout(30_000),
    })
    const text = await response.text()
    return { status: response.status, ms: performance.now() - started, text }
  } catch (error) {
    return { status: 0, ms: performance.now() - started, text: String(error) }
  }
}

async function reader(options: BackgroundLoadOptions, n: number): Promise<void> {
  for (let i = n; !stopped; i++) {
    const exam = options.examIds[i % options.examIds.length]
    const path = [`/api/mock-exams/${exam}/bookings`, `/api/mock-exams/${exam}`, '/api/mock-exams'][i % 3]
    const at = phase
    const answer = await timed(options, 'GET', path)
    if (answer.status !== 200) errors.push(`[${at}] GET ${path} → ${answer.status} ${answer.text.slice(0, 200)}`)
    else samplesOf(at).reads.push(answer.ms)
    await sleep(options.readPauseMs)
  }
}

async function booker(options: BackgroundLoadOptions): Promise<void> {
  for (let i = 0; !stopped; i++) {
    const next = Date.now() + options.bookingEveryMs
    const examId = options.examIds[i % options.examIds.length]
    const at = phase
    const answer = await timed(options, 'POST', '/api/bookings', {
      examId,
      student_name: `Background ${i}`,
      student_email: `background${i}@example.com`,
      booking_id: `bg-${process.pid}-${i}`,
    })
    if (answer.status !== 201 && answer.status !== 200)
      errors.push(`[${at}] POST /api/bookings → ${answer.status} ${answer.text.slice(0, 200)}`)
    else {
      booked += 1
      samplesOf(at).bookings.push(answer.ms)
    }
    await sleep(Math.max(0, next - Date.now()))
  }
}

process.on(
  'message',
  (message: { type: string; options?: BackgroundLoadOptions; name?: string; expected?: number }) => {
    if (message.type === 'start') {
      const options = message.options!
      feed = followSse(options.base, options.token, options.watchedExam, { after: options.after })
      void (async () => {
        // The stream is open (its first connection counted) before the loops start.
        while (feed.connections === 0) await sleep(20)
        for (let n = 0; n < options.readers; n++) loops.push(reader(options, n))
        loops.push(booker(options))
        process.send!({ type: 'started', value: null })
      })()
    } else if (message.type === 'phase') {
      phase = message.name!
    } else if (message.type === 'stop') {
      stopped = true
      void Promise.all(loops).then(() => process.send!({ type: 'stopped', value: null }))
    } else if (message.type === 'finish') {
      // The stream gets the events the log holds (the test counted them) or 20 s to fail trying.
      void (async () => {
        const deadline = Date.now() + 20_000
        while ((feed?.seqs.length ?? 0) < message.expected! && Date.now() < deadline) await sleep(50)
        await sleep(200)
        await feed?.stop()
        const result: BackgroundResult = {
          phases,
          errors,
          bookings: booked,
          sse: { seqs: feed?.seqs ?? [], retries: feed?.retries ?? 0, connections: feed?.connections ?? 0 },
        }
        process.send!({ type: 'result', value: result }, () => process.exit(0))
      })()
    }
  },
)

// A steady background load (reads, bookings, one SSE stream) in its own process, timed by phase, for the abuse suite.
import { fork, type ChildProcess } from 'node:child_process'
import { fileURLToPath } from 'node:url'

export interface BackgroundLoadOptions {
  base: string
  token: string
  /** Exams the load reads and books on. */
  examIds: string[]
  /** The exam the SSE stream follows, and the seq it starts after. */
  watchedExam: string
  after: string
  /** Concurrent read loops, each pausing this long between reads. */
  readers: number
  readPauseMs: number
  /** One booking this often. */
  bookingEveryMs: number
}

/** Latencies (ms) of what started in one phase. */
export interface PhaseSamples {
  reads: number[]
  bookings: number[]
}

export interface BackgroundResult {
  phases: Record<string, PhaseSamples>
  /** Any answer that was not the expected success, as text. */
  errors: string[]
  bookings: number
  sse: { seqs: string[]; retries: number; connections: number }
}

export interface BackgroundLoad {
  /** Samples from now on are counted under this phase. */
  phase(name: string): void
  /** Stops the read and booking loops; resolves once their last requests are answered. */
  stop(): Promise<void>
  /** Waits until the SSE stream has `expected` events (or 20 s), then ends the process with its result. */
  finish(expected: number): Promise<BackgroundResult>
  /** Ends the process at once (a failed test's clean-up). */
  kill(): void
}

/** Starts the load in a child process; resolves once its SSE stream is open and its loops run. */
export async function startBackgroundLoad(options: BackgroundLoadOptions): Promise<BackgroundLoad> {
  const child: ChildProcess = fork(fileURLToPath(new URL('./background-load-child.ts', import.meta.url)), [], {
    execArgv: ['--import', 'tsx'],
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  })
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()))
  const next = <T>(type: string) =>
    new Promise<T>((resolve, reject) => {
      const onMessage = (message: { type: string; value: T }) => {
        if (message.type !== type) return
        child.off('message', onMessage)
        resolve(message.value)
      }
      child.on('message', onMessage)
      void exited.then(() => reject(new Error(`the background load exited before "${type}"`)))
    })
  const started = next<null>('started')
  child.send({ type: 'start', options })
  await started
  return {
    phase: (name) => child.send({ type: 'phase', name }),
    async stop() {
      const stopped = next<null>('stopped')
      child.send({ type: 'stop' })
      await stopped
    },
    kill() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL')
    },
    async finish(expected) {
      const result = next<BackgroundResult>('result')
      child.send({ type: 'finish', expected })
      const value = await result
      await exited
      return value
    },
  }
}

/** The q-quantile (0..1) of the samples, nearest rank. */
export function percentile(samples: readonly number[], q: number): number {
  if (samples.length === 0) return NaN
  const sorted = [...samples].sort((a, b) => a - b)
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))]
}

// Wakes the other instances after local commits: one pg_notify now, then at most one per interval.
import { compareSeq } from '../model/seq.js'

/**
 * NOTIFY inside a write transaction takes a global lock at commit and serialises every writer
 * (recall.ai's outages, ~600 notifying commits/s), so it is sent after the commit, outside the
 * transaction, and throttled: the leading edge goes at once (low latency for a lone write), and a
 * burst collapses into one trailing notification carrying the newest seq. The payload is only a
 * hint; listeners re-read the log.
 */
export interface Notifier {
  /** A local commit appended events up to seq. */
  committed(seq: string): void
  /** Sends what is pending, then stops. */
  close(): Promise<void>
}

export interface NotifierOptions {
  send(seq: string): Promise<void>
  intervalMs?: number
  onError?(error: unknown): void
}

export function createNotifier(options: NotifierOptions): Notifier {
  const intervalMs = options.intervalMs ?? 20
  let pending: string | null = null
  let timer: NodeJS.Timeout | null = null
  let inFlight: Promise<void> = Promise.resolve()
  let closed = false

  const send = (seq: string) => {
    inFlight = options.send(seq).catch((error) => options.onError?.(error))
  }

  // While the timer runs, sends are held back; when it fires it sends the newest held seq, if any.
  const tick = () => {
    timer = null
    if (pending === null) return
    const seq = pending
    pending = null
    send(seq)
    timer = setTimeout(tick, intervalMs)
  }

  return {
    committed(seq) {
      if (closed) return
      if (timer) {
        // Local commits may be announced out of order; the newest seq is the useful hint.
        if (pending === null || compareSeq(seq, pending) > 0) pending = seq
        return
      }
      send(seq)
      timer = setTimeout(tick, intervalMs)
    },
    async close() {
      closed = true
      if (timer) clearTimeout(timer)
      timer = null
      if (pending !== null) send(pending)
      pending = null
      await inFlight
    },
  }
}

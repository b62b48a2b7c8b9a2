// Backfill progress: a redrawn bar with rate and ETA on a terminal, else a log line every few seconds.
import type { ProgressReporter, ProgressSnapshot } from './types.js'

export interface ProgressOptions {
  /** A TTY gets the bar; anything else gets lines through `log`. */
  stream?: { isTTY?: boolean; columns?: number; write(text: string): unknown }
  /** Where lines go when not on a TTY; defaults to the stream. */
  log?: (line: string, fields: Record<string, unknown>) => void
  /** Force lines (false) or the bar (true) whatever the stream is. */
  tty?: boolean
  /** Time between log lines (not between bar redraws). */
  everyMs?: number
  now?: () => number
  /**
   * The replica is the embedded PGlite: a portal bigger than it is meant for is told so, once, with
   * what to set instead, before the bar or the first line.
   */
  embeddedReplica?: boolean
}

/**
 * Past this many rows the embedded PGlite is not the replica to use. Measured: 20,000 bookings
 * backfill in ~15 s; at 100,000 it wrote ~100 rows/s on a busy 2-core machine and stopped when
 * HubSpot's answers waited on its event loop (bench/RESULTS.md, "PGlite at 100k").
 */
export const EMBEDDED_REPLICA_ADVISED_ROWS = 50_000

export function embeddedReplicaAdvice(total: number): string {
  return (
    `this HubSpot portal holds ${count(total)} rows; the embedded PGlite replica is meant for trying hubmirror ` +
    `and for portals up to ${count(EMBEDDED_REPLICA_ADVISED_ROWS)} (it writes on the server's own thread, ` +
    `and at 100,000 bookings its backfill did not finish). Set DATABASE_URL to a Postgres ` +
    `(Supabase or any) and start again; the new replica backfills from HubSpot, which nothing here changes`
  )
}

/** Narrow enough that bar, counts, rate and ETA fit an 80-column terminal. */
const BAR_WIDTH = 20

/** Rate over the last few seconds, so that a resumed or stalled run does not show a stale average. */
class RateMeter {
  readonly #samples: Array<[number, number]> = []
  constructor(readonly windowMs = 5_000) {}

  add(at: number, done: number): void {
    this.#samples.push([at, done])
    while (this.#samples.length > 2 && this.#samples[0][0] < at - this.windowMs) this.#samples.shift()
  }

  perSecond(): number | null {
    if (this.#samples.length < 2) return null
    const [t0, d0] = this.#samples[0]
    const [t1, d1] = this.#samples[this.#samples.length - 1]
    return t1 > t0 ? ((d1 - d0) * 1000) / (t1 - t0) : null
  }
}

export function formatDuration(ms: number): string {
  const s = Math.max(0, Math.round(ms / 1000))
  const h = Math.floor(s / 3600)
  const m = Math.floor((s % 3600) / 60)
  const sec = String(s % 60).padStart(2, '0')
  return h ? `${h}:${String(m).padStart(2, '0')}:${sec}` : `${m}:${sec}`
}

const count = (n: number) => n.toLocaleString('en-US')

export function describe(
  snapshot: ProgressSnapshot,
  rate: number | null,
): { text: string; etaMs: number | null; fraction: number | null } {
  const total = snapshot.total !== null && snapshot.total > 0 ? Math.max(snapshot.total, snapshot.done) : null
  const fraction = total ? snapshot.done / total : null
  const etaMs = total && rate && rate > 0 ? ((total - snapshot.done) / rate) * 1000 : null
  const parts = [
    total ? `${count(snapshot.done)}/${count(total)} rows` : `${count(snapshot.done)} rows`,
    rate === null ? '' : `${count(Math.round(rate))} rows/s`,
    etaMs === null ? '' : `ETA ${formatDuration(etaMs)}`,
  ]
  return { text: parts.filter(Boolean).join('  '), etaMs, fraction }
}

export function createProgress(options: ProgressOptions = {}): ProgressReporter {
  const stream = options.stream ?? process.stderr
  const now = options.now ?? Date.now
  const everyMs = options.everyMs ?? 3_000
  const tty = options.tty ?? Boolean(stream.isTTY)
  const log = options.log ?? ((line: string) => stream.write(line + '\n'))
  const meter = new RateMeter()
  let lastLine: number | null = null
  let lastDraw = 0
  let last: ProgressSnapshot | null = null

  const draw = (snapshot: ProgressSnapshot) => {
    const { text, fraction } = describe(snapshot, meter.perSecond())
    const filled = fraction === null ? 0 : Math.round(Math.min(1, fraction) * BAR_WIDTH)
    const bar = `[${'█'.repeat(filled)}${'░'.repeat(BAR_WIDTH - filled)}]`
    const percent = fraction === null ? '' : ` ${String(Math.floor(Math.min(1, fraction) * 100)).padStart(3)}%`
    const line = `${snapshot.phase} ${bar}${percent} ${text}`
    // Cleared to the end of the line, so a shorter redraw leaves no tail of the longer one.
    stream.write(`\r${line.slice(0, (stream.columns ?? 120) - 1)}\x1b[K`)
  }

  let advised = !options.embeddedReplica
  return {
    update(snapshot) {
      if (!advised && snapshot.total !== null) {
        advised = true
        if (snapshot.total > EMBEDDED_REPLICA_ADVISED_ROWS) {
          const line = embeddedReplicaAdvice(snapshot.total)
          if (tty) stream.write(`warning: ${line}\n`)
          else log(`warning: ${line}`, { advice: 'set DATABASE_URL', total: snapshot.total })
        }
      }
      const at = now()
      meter.add(at, snapshot.done)
      last = snapshot
      if (tty) {
        if (at - lastDraw >= 100) {
          lastDraw = at
          draw(snapshot)
        }
        return
      }
      if (lastLine !== null && at - lastLine < everyMs) return
      lastLine = at
      const { text, etaMs } = describe(snapshot, meter.perSecond())
      log(`${snapshot.phase}: ${text}`, {
        phase: snapshot.phase,
        done: snapshot.done,
        total: snapshot.total,
        rate: meter.perSecond(),
        eta_ms: etaMs,
      })
    },
    finish(summary) {
      if (tty) {
        if (last) draw(last)
        stream.write(`\n${summary}\n`)
        return
      }
      log(summary, { phase: 'done', done: last?.done ?? null, total: last?.total ?? null })
    },
  }
}

// The progress reporter: a redrawn bar with rate and ETA on a TTY, throttled log lines elsewhere; and the range plan.
import { describe, expect, it } from 'vitest'
import { rangePlan, singlePlan } from './backfill-plan.js'
import {
  createProgress,
  describe as describeProgress,
  EMBEDDED_REPLICA_ADVISED_ROWS,
  formatDuration,
} from './progress.js'

function fakeStream(isTTY: boolean) {
  const writes: string[] = []
  return { isTTY, columns: 200, writes, write: (text: string) => writes.push(text) }
}

describe('progress', () => {
  it('redraws one line on a TTY: bar, rows done/total, rows/s and ETA', () => {
    let now = 0
    const stream = fakeStream(true)
    const progress = createProgress({ stream, now: () => now })
    progress.update({ phase: 'backfill', done: 0, total: 10_000 })
    now = 1_000
    progress.update({ phase: 'backfill', done: 2_500, total: 10_000 })
    const line = stream.writes.at(-1)!
    expect(line.startsWith('\r')).toBe(true)
    expect(line).toContain('2,500/10,000 rows')
    expect(line).toContain('2,500 rows/s')
    expect(line).toContain('ETA 0:03')
    expect(line).toContain(' 25%')
    expect(line).toMatch(/\[█{5}░{15}\]/)
    expect(line.replace('\r', '').replace('\x1b[K', '').length).toBeLessThan(80)
    progress.finish('done')
    expect(stream.writes.at(-1)).toBe('\ndone\n')
  })

  it('tells an embedded replica once, before anything else, when the portal is too big for it, and what to set', () => {
    const big = EMBEDDED_REPLICA_ADVISED_ROWS + 1
    const lines: string[] = []
    const progress = createProgress({
      stream: fakeStream(false),
      log: (line) => lines.push(line),
      embeddedReplica: true,
    })
    progress.update({ phase: 'backfill', done: 0, total: big })
    progress.update({ phase: 'backfill', done: 10, total: big })
    expect(lines.filter((line) => line.startsWith('warning:'))).toHaveLength(1)
    expect(lines[0]).toMatch(/^warning: .*50,001 rows.*Set DATABASE_URL/)
    const tty = fakeStream(true)
    createProgress({ stream: tty, embeddedReplica: true }).update({ phase: 'backfill', done: 0, total: big })
    expect(tty.writes[0]).toMatch(/^warning: .*Set DATABASE_URL.*\n$/)
    // Not when the portal fits, nor when the replica is a Postgres.
    for (const [embeddedReplica, total] of [
      [true, EMBEDDED_REPLICA_ADVISED_ROWS],
      [false, big],
    ] as const) {
      const quiet: string[] = []
      createProgress({ stream: fakeStream(false), log: (line) => quiet.push(line), embeddedReplica }).update({
        phase: 'backfill',
        done: 0,
        total,
      })
      expect(quiet.some((line) => line.startsWith('warning:'))).toBe(false)
    }
  })

  it('writes a log line every few seconds when not on a TTY', () => {
    let now = 0
    const lines: string[] = []
    const progress = createProgress({
      stream: fakeStream(false),
      log: (line) => lines.push(line),
      everyMs: 3_000,
      now: () => now,
    })
    for (let done = 0; done <= 10_000; done += 100) {
      progress.update({ phase: 'backfill', done, total: 10_000 })
      now += 100
    }
    // 10 s of updates: the first, then one every 3 s.
    expect(lines).toHaveLength(4)
    expect(lines[1]).toMatch(/^backfill: 3,000\/10,000 rows {2}1,000 rows\/s {2}ETA 0:07$/)
    progress.finish('backfill done')
    expect(lines.at(-1)).toBe('backfill done')
  })

  it('copes with an unknown total and formats durations', () => {
    expect(describeProgress({ phase: 'x', done: 5, total: null }, null).text).toBe('5 rows')
    expect(formatDuration(3_725_000)).toBe('1:02:05')
    expect(formatDuration(59_400)).toBe('0:59')
  })
})

describe('backfill plan', () => {
  it('splits an id span into ranges open at both ends, each a search page of objects or a little under', () => {
    const plan = rangePlan(0, 20_000, 30_000_000_001n, 30_000_020_200n)
    // 198 objects a range (200 a search page, 2 short), as far as the ids' spacing says.
    expect(plan.ranges).toHaveLength(102)
    for (const range of plan.ranges.slice(1, -1))
      expect(Number(BigInt(range.to!) - BigInt(range.from!)) / plan.ids_per_object!).toBeLessThanOrEqual(198)
    expect(plan.ranges[0].from).toBeNull()
    expect(plan.ranges.at(-1)!.to).toBeNull()
    for (let i = 1; i < plan.ranges.length; i++) expect(plan.ranges[i].from).toBe(plan.ranges[i - 1].to)
    // Past MAX_RANGES, ranges grow by whole search pages: 1,998 objects each here.
    expect(rangePlan(0, 1_000_000, 1n, 2_000_000n).ranges).toHaveLength(501)
    // Dense or odd spans still make sane, non-empty ranges.
    expect(
      rangePlan(0, 5_000, 10n, 12n).ranges.every(
        (r) => r.from === null || r.to === null || BigInt(r.from) < BigInt(r.to),
      ),
    ).toBe(true)
    expect(singlePlan(0, 10).ranges).toEqual([{ from: null, to: null, next: null, done: false, rows: 0 }])
  })
})

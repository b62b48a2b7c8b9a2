// A year of a busy account's change log: retention pruning under concurrent writes, replay from a cursor, and the head poll through a transaction pooler.
import { join } from 'node:path'
import { tmpdir } from 'node:os'
import pg from 'pg'
import {
  appendEvents,
  ensureEventPartitions,
  eventLogLayout,
  headSeq,
  migrate,
  openReplica,
  pruneEvents,
  readEvents,
  type NewEvent,
} from '../../src/replica/index.js'
import { startPrivatePgBouncer } from '../../test/support/private-services.js'
import { freshDatabase } from '../support/database.js'
import { round } from '../support/machine.js'
import { percentile } from '../support/stats.js'

const YEAR_MS = 365 * 86_400_000
const RETENTION_MS = 7 * 86_400_000
const INSERT_BATCH = 250_000
const WRITE_GOAL_MS = 100
/** How long the writer runs alone before the prune, as the baseline of its latency. */
const IDLE_MS = 10_000

interface Latencies {
  n: number
  p50ms: number
  p99ms: number
  maxMs: number
}

function summary(times: number[]): Latencies {
  const sorted = [...times].sort((a, b) => a - b)
  return {
    n: sorted.length,
    p50ms: round(percentile(sorted, 50), 1),
    p99ms: round(percentile(sorted, 99), 1),
    maxMs: round(sorted.at(-1) ?? Number.NaN, 1),
  }
}

async function timed(runs: number, fn: () => Promise<unknown>): Promise<Latencies> {
  const times: number[] = []
  for (let i = 0; i < runs; i++) {
    const started = performance.now()
    await fn()
    times.push(performance.now() - started)
  }
  return summary(times)
}

/** WAL written and checkpoints begun so far (Postgres 14+ counters; zeros where they are missing). */
async function walActivity(client: pg.Client): Promise<{ bytes: number; fpi: number; checkpoints: number }> {
  const { rows } = await client
    .query<{ bytes: string; fpi: string; checkpoints: string }>(
      `SELECT w.wal_bytes::text AS bytes, w.wal_fpi::text AS fpi,
              (b.checkpoints_timed + b.checkpoints_req)::text AS checkpoints
         FROM pg_stat_wal w, pg_stat_bgwriter b`,
    )
    .catch(() => ({ rows: [{ bytes: '0', fpi: '0', checkpoints: '0' }] }))
  return { bytes: Number(rows[0]!.bytes), fpi: Number(rows[0]!.fpi), checkpoints: Number(rows[0]!.checkpoints) }
}

/** Events spread evenly over the last year, oldest first, each with a booking-sized row. */
async function fill(client: pg.Client, events: number, log: (line: string) => void): Promise<void> {
  for (let from = 1; from <= events; from += INSERT_BATCH) {
    const to = Math.min(events, from + INSERT_BATCH - 1)
    await client.query(
      `INSERT INTO hubmirror.replica_events (kind, op, hubspot_id, exam_id, source, row_data, created_at)
       SELECT 'booking', 'upsert', (30000000000 + n)::text, (30000000000 + n / 100)::text, 'sync',
              jsonb_build_object('hubspot_id', (30000000000 + n)::text, 'booking_id', 'BK-' || n,
                'booking_status', 'confirmed', 'is_active', 'true', 'student_name', 'Student Bulk',
                'attending_location', 'Toronto', 'exam_date', '2026-03-02'),
              now() - ($3::bigint - n) * ($4::double precision / $3::bigint) * interval '1 millisecond'
         FROM generate_series($1::bigint, $2::bigint) AS n`,
      [from, to, events, YEAR_MS],
    )
    log(`  change log: ${to.toLocaleString()} / ${events.toLocaleString()} events written`)
  }
  await client.query('ANALYZE hubmirror.replica_events')
}

export async function changeLogAtScale(
  adminUrl: string,
  events: number,
  log: (line: string) => void,
): Promise<Record<string, unknown>> {
  const database = await freshDatabase(adminUrl, 'bench_scale_log')
  const dataDir = join(tmpdir(), 'hm-scale-log')
  const driver = await openReplica({ databaseUrl: database.url, dataDir })
  const client = new pg.Client({ connectionString: database.url })
  await client.connect()
  try {
    await migrate(driver)
    // A year of appends would have made its partitions as it went (the keeper in sync-parts.ts); the
    // bulk fill below writes past the keeper's reach, so they are made first.
    await ensureEventPartitions(driver, { through: BigInt(events) })
    const fillStarted = performance.now()
    await fill(client, events, log)
    const out: Record<string, unknown> = { events, fillSeconds: round((performance.now() - fillStarted) / 1000, 1) }
    const head = await headSeq(driver)

    // ── replay: a cursor 1,000 back, and one exam's events from 1,000 back ──
    const after = String(BigInt(head) - 1000n)
    const replayed = await readEvents(driver, { after, limit: 1000 })
    out.replay = {
      events: replayed.length,
      ...(await timed(30, () => readEvents(driver, { after, limit: 1000 }))),
      plan: (
        await client.query<{ 'QUERY PLAN': string }>(
          `EXPLAIN (ANALYZE, COSTS OFF) SELECT * FROM hubmirror.replica_events WHERE seq > $1::bigint ORDER BY seq LIMIT 1000`,
          [after],
        )
      ).rows.map((r) => r['QUERY PLAN']),
    }
    log(`  replay: ${JSON.stringify({ ...(out.replay as object), plan: undefined })}`)

    // ── the head poll, direct and through PgBouncer in transaction mode ──
    const bouncer = await startPrivatePgBouncer({ server: adminUrl, poolMode: 'transaction' }).catch(() => null)
    out.headPoll = { direct: await timed(500, () => headSeq(driver)) }
    if (bouncer) {
      const pooled = await openReplica(
        { databaseUrl: bouncer.url(database.name), dataDir, databasePoolMode: 'transaction' },
        { maxConnections: 2 },
      )
      try {
        ;(out.headPoll as Record<string, unknown>).transactionPooler = await timed(500, () => headSeq(pooled))
      } finally {
        await pooled.close()
        await bouncer.close()
      }
    }
    log(`  head poll: ${JSON.stringify(out.headPoll)}`)

    // ── pruning to 7 days while a writer appends one event per transaction ──
    const WRITE: NewEvent = {
      kind: 'booking',
      op: 'upsert',
      hubspot_id: 'w',
      exam_id: 'w',
      changes: { w: [0, 1] },
      origin: { kind: 'hubmirror', subject: 'bench' },
      row: { w: 1 },
    }
    /**
     * One event per transaction, back to back, while `work` runs: each write's time, the slowest
     * five (and when they started, from the work's start), and the WAL and checkpoints meanwhile.
     */
    const writesWhile = async <T>(work: () => Promise<T>) => {
      const writes: number[] = []
      const starts: number[] = []
      let writing = true
      const walBefore = await walActivity(client)
      const workStarted = performance.now()
      const writer = (async () => {
        while (writing) {
          const started = performance.now()
          await driver.transaction((tx) => appendEvents(tx, 'manual', [WRITE]))
          writes.push(performance.now() - started)
          starts.push(started - workStarted)
        }
      })()
      const value = await work().finally(() => (writing = false))
      const ms = performance.now() - workStarted
      await writer
      const walAfter = await walActivity(client)
      return {
        value,
        seconds: round(ms / 1000, 1),
        writes: {
          ...summary(writes),
          overGoal: writes.filter((w) => w > WRITE_GOAL_MS).length,
          slowest: writes
            .map((w, i) => ({ ms: round(w, 1), atMs: round(starts[i]!, 0) }))
            .sort((a, b) => b.ms - a.ms)
            .slice(0, 5),
        },
        wal: {
          megabytes: round((walAfter.bytes - walBefore.bytes) / 1e6, 1),
          fullPageImages: walAfter.fpi - walBefore.fpi,
          checkpoints: walAfter.checkpoints - walBefore.checkpoints,
        },
      }
    }
    const baseline = await timed(200, () => driver.transaction((tx) => appendEvents(tx, 'manual', [WRITE])))
    // The same writer for a while with nothing else running: what the machine alone does to it.
    const idle = await writesWhile(() => new Promise((resolve) => setTimeout(resolve, IDLE_MS)))
    const locks = new Map<string, number>()
    let sampling = true
    const sampler = (async () => {
      const watcher = new pg.Client({ connectionString: database.url })
      await watcher.connect()
      try {
        while (sampling) {
          // The pruning backend's statements: DELETEs in batches and DROP TABLE of whole partitions
          // (their partition names folded into one), held or waited for.
          const { rows } = await watcher.query<{ lock: string }>(
            `SELECT l.mode || ' on ' ||
                    regexp_replace(coalesce(l.relation::regclass::text, l.locktype), 'replica_events_from_[0-9]+', 'replica_events_from_N') ||
                    CASE WHEN l.granted THEN '' ELSE ' (waiting)' END AS lock
               FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
              WHERE a.datname = current_database() AND a.pid <> pg_backend_pid()
                AND (a.query ILIKE 'DELETE FROM hubmirror.%' OR a.query ILIKE 'DROP TABLE hubmirror.%'
                     OR a.query ILIKE 'SELECT count(*)::text AS n FROM hubmirror.%')`,
          )
          for (const { lock } of rows) locks.set(lock, (locks.get(lock) ?? 0) + 1)
          await new Promise((r) => setTimeout(r, 20))
        }
      } finally {
        await watcher.end()
      }
    })()
    const partitionsBefore = (await eventLogLayout(driver)).ranges.length
    const pruned = await writesWhile(() => pruneEvents(driver, RETENTION_MS)).finally(() => (sampling = false))
    await sampler
    out.prune = {
      retentionDays: RETENTION_MS / 86_400_000,
      dropped: pruned.value,
      seconds: pruned.seconds,
      locksSeen: Object.fromEntries(locks),
      partitions: { before: partitionsBefore, after: (await eventLogLayout(driver)).ranges.length },
      writesBefore: baseline,
      writesDuring: pruned.writes,
      walDuring: pruned.wal,
      writesIdle: { seconds: idle.seconds, ...idle.writes },
      walIdle: idle.wal,
      writeGoalMs: WRITE_GOAL_MS,
      passes: pruned.writes.maxMs <= WRITE_GOAL_MS,
      left: Number(
        (await client.query<{ n: string }>('SELECT count(*)::text AS n FROM hubmirror.replica_events')).rows[0]!.n,
      ),
    }
    log(`  prune: ${JSON.stringify(out.prune)}`)
    // The head read plans over every partition: again with what the prune left.
    out.headPollAfterPrune = { direct: await timed(500, () => headSeq(driver)) }
    log(`  head poll after the prune: ${JSON.stringify(out.headPollAfterPrune)}`)
    return out
  } finally {
    await client.end()
    await driver.close()
    await database.drop()
  }
}

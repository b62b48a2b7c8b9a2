// The upgrade to the internal schema (migration 005) and the partitioned change log (011) on a database laid out by
// migrations 001+002: every row and the change log's sequence survive, and a client resuming from its old cursor loses nothing.
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createApp, type App } from '../../src/app.js'
import type { ChangeEvent } from '../../src/model/records.js'
import {
  appendEvents,
  detectPoolMode,
  eventLogLayout,
  prunedThrough,
  pruneEvents,
  type ReplicaDriver,
} from '../../src/replica/index.js'
import { createPgDriver } from '../../src/replica/driver-pg.js'
import { createPgliteDriver } from '../../src/replica/driver-pglite.js'
import { allPermissionsToken, bearer } from '../support/fixtures.js'
import { realPostgres, tempDir, testConfig } from '../support/env.js'
import { applySql, ownedDatabase, type OwnedDatabase } from '../support/owned-database.js'

const MIGRATIONS = join(import.meta.dirname, '../../src/replica/migrations')
/** A booking row as the change log of that schema carried it: the contract's BookingRecord shape, as a real one has. */
function bookingRow(hubspotId: string, examId: string): Record<string, string | null> {
  const fields = ['contact_id', 'student_id', 'booking_status', 'is_active', 'attendance', 'attending_location']
  return {
    hubspot_id: hubspotId,
    booking_id: `bk-${hubspotId}`,
    mock_exam_id: examId,
    student_name: `Student ${hubspotId}`,
    student_email: `s${hubspotId}@example.com`,
    ...Object.fromEntries(fields.map((f) => [f, null])),
    exam_date: null,
    dominant_hand: null,
    created_at: null,
    updated_at: null,
    hs_lastmodifieddate: '2026-11-01T00:00:00.000Z',
    deleted_at: null,
  }
}

const OLD_TABLES = ['replica_events', 'replica_events_retention', 'sync_state', 'hubmirror_state', 'write_intents']
const SEED = Number(process.env.TEST_SEED ?? Date.now() % 100_000)

/** A small deterministic generator, so a failure can be replayed with TEST_SEED. */
function random(seed: number): () => number {
  let state = seed >>> 0 || 1
  return () => {
    state ^= state << 13
    state ^= state >>> 17
    state ^= state << 5
    return (state >>> 0) / 2 ** 32
  }
}

async function tableRows(db: ReplicaDriver, table: string, columns?: readonly string[]): Promise<string[]> {
  // With `columns`, only those: the columns a later migration added (006: the change log's changes and
  // origin; fields added to the catalogue since) the old rows cannot have had, while every column
  // they did have must be unchanged.
  const row = columns
    ? `(SELECT jsonb_object_agg(key, value) FROM jsonb_each(to_jsonb(t)) WHERE key = ANY($1::text[]))`
    : 'to_jsonb(t)'
  const { rows } = await db.query<{ row: string }>(
    `SELECT ${row}::text AS row FROM ${table} t`,
    columns ? [columns] : [],
  )
  return rows.map((r) => r.row).sort()
}

/** The columns of the rows a snapshot holds. */
const columnsOf = (rows: readonly string[] | undefined): string[] =>
  rows?.length ? Object.keys(JSON.parse(rows[0]!) as object) : []

describe(`upgrading a database from before the internal schema (seed ${SEED})`, () => {
  const dir = tempDir()
  let owned: OwnedDatabase | null = null
  let app: App
  let url: string
  const before = new Map<string, string[]>()
  let head = 0
  let clientCursor = 0
  let pruned = 0
  let oldApplied: string[] = []
  /** One booking event appended as today's code appends it. */
  const appendBooking = async (hubspotId: string) => {
    const [appended] = await app.db.transaction((tx) =>
      appendEvents(tx, 'manual', [
        {
          kind: 'booking',
          op: 'upsert',
          hubspot_id: hubspotId,
          exam_id: '90',
          changes: {},
          origin: { kind: 'hubspot' },
          row: bookingRow(hubspotId, '90'),
        },
      ]),
    )
    return appended
  }

  beforeAll(async () => {
    console.log(`upgrade test seed ${SEED} (replay with TEST_SEED=${SEED})`)
    const next = random(SEED)
    owned = realPostgres ? await ownedDatabase() : null
    // Today's layout, made the way the runner before 005 made it: its ledger in public, 001 and 002.
    const old = owned
      ? createPgDriver({ connectionString: owned.ownerUrl, poolMode: await detectPoolMode({ url: owned.ownerUrl }) })
      : await createPgliteDriver(join(dir.path, 'pglite'))
    await old.query(
      `CREATE TABLE public.schema_migrations (version TEXT PRIMARY KEY, applied_at TIMESTAMPTZ NOT NULL DEFAULT NOW())`,
    )
    for (const version of ['001_init', '002_intent_owner']) {
      await applySql(old, readFileSync(join(MIGRATIONS, `${version}.sql`), 'utf8'))
      await old.query('INSERT INTO public.schema_migrations (version) VALUES ($1)', [version])
    }
    const exams = 3 + Math.floor(next() * 5)
    for (let e = 0; e < exams; e++) {
      await old.query(
        `INSERT INTO public.hubspot_mock_exams (hubspot_id, mock_exam_name, capacity, exam_date, hs_lastmodifieddate)
         VALUES ($1, $2, $3, '2026-12-24', now())`,
        [`9${e}`, `Exam ${e}`, 5 + e],
      )
      const bookings = Math.floor(next() * 20)
      for (let b = 0; b < bookings; b++)
        await old.query(
          `INSERT INTO public.hubspot_bookings (hubspot_id, booking_id, mock_exam_id, student_name, student_email, hs_lastmodifieddate)
           VALUES ($1, $2, $3, $4, $5, now())`,
          [`8${e}0${b}`, `bk-${e}-${b}`, `9${e}`, `Student ${e}.${b}`, `s${e}.${b}@example.com`],
        )
    }
    const events = 20 + Math.floor(next() * 80)
    for (let i = 0; i < events; i++)
      await old.query(
        `INSERT INTO public.replica_events (kind, op, hubspot_id, exam_id, source, row_data)
         VALUES ('booking', $1, $2, $3, 'sync', $4::jsonb)`,
        [
          next() < 0.9 ? 'upsert' : 'delete',
          `8${i}`,
          `9${i % exams}`,
          JSON.stringify(bookingRow(`8${i}`, `9${i % exams}`)),
        ],
      )
    // Some of the log was pruned already; a client holds a cursor in the retained part.
    pruned = 1 + Math.floor(next() * 5)
    await old.query('DELETE FROM public.replica_events WHERE seq <= $1', [pruned])
    await old.query('UPDATE public.replica_events_retention SET pruned_through = $1', [pruned])
    head = events
    clientCursor = pruned + Math.floor(next() * (events - pruned - 1))
    await old.query(
      `INSERT INTO public.sync_state (object_type, cursor_ms, archived_cursor_ms, backfill, last_pull_ok_at)
       VALUES ('exams', $1, $1, '{"phase":"done"}', now()), ('bookings', $2, $2, '{"phase":"done"}', now())`,
      [1_700_000_000_000 + Math.floor(next() * 1e9), 1_700_000_000_000 + Math.floor(next() * 1e9)],
    )
    await old.query(
      `INSERT INTO public.hubmirror_state (key, value) VALUES ('drift', '{"missing":0}'), ('backfilled', 'true')`,
    )
    await old.query(
      `INSERT INTO public.write_intents (kind, idempotency_key, exam_id, payload, status, owner_key)
       VALUES ('booking.create', 'bk-pending', '90', '{"a":1}', 'pending', 42),
              ('booking.cancel', NULL, '90', '{"b":2}', 'done', 7)`,
    )
    for (const table of [...OLD_TABLES, 'schema_migrations', 'hubspot_mock_exams', 'hubspot_bookings'])
      before.set(table, await tableRows(old, `public.${table}`))
    oldApplied = (await old.query<{ version: string }>('SELECT version FROM public.schema_migrations')).rows.map(
      (r) => r.version,
    )
    await old.close()

    // The new code starts on it: createApp migrates, as `hubmirror serve` does.
    const config = testConfig({ databaseUrl: owned?.ownerUrl ?? null, env: { HUBMIRROR_DATA_DIR: dir.path } })
    app = await createApp({ config, webDist: null })
    url = await app.listen()
  }, 60_000)

  afterAll(async () => {
    await app?.close()
    await owned?.drop()
    dir.remove()
  })

  it('moves every internal table into schema hubmirror with every row unchanged', async () => {
    for (const table of OLD_TABLES) {
      expect(await tableRows(app.db, `hubmirror.${table}`, columnsOf(before.get(table))), table).toEqual(
        before.get(table),
      )
      const { rows } = await app.db.query<{ there: boolean }>('SELECT to_regclass($1) IS NOT NULL AS there', [
        `public.${table}`,
      ])
      expect(rows[0].there, `public.${table} is gone`).toBe(false)
    }
    for (const table of ['hubspot_mock_exams', 'hubspot_bookings'])
      expect(await tableRows(app.db, `public.${table}`, columnsOf(before.get(table))), table).toEqual(before.get(table))
  })

  it('keeps the migrations ledger, now in hubmirror, with the old entries as they were', async () => {
    const rows = await tableRows(app.db, 'hubmirror.schema_migrations')
    for (const row of before.get('schema_migrations')!) expect(rows).toContain(row)
    const versions = rows.map((r) => (JSON.parse(r) as { version: string }).version)
    expect(versions).toEqual(expect.arrayContaining([...oldApplied, '005_internal_schema']))
    const { rows: legacy } = await app.db.query<{ there: boolean }>(
      `SELECT to_regclass('public.schema_migrations') IS NOT NULL AS there`,
    )
    expect(legacy[0].there).toBe(false)
  })

  it('serves a client resuming from its old cursor every event after it, and nothing is lost', async () => {
    const token = allPermissionsToken(app.config)
    const response = await fetch(`${url}/api/long-poll?after=${clientCursor}&timeout_ms=0`, { headers: bearer(token) })
    expect(response.status).toBe(200)
    const body = (await response.json()) as { events: ChangeEvent[]; cursor: string }
    const expected = Array.from({ length: head - clientCursor }, (_, i) => String(clientCursor + 1 + i))
    expect(body.events.map((e) => e.seq)).toEqual(expected)
    expect(body.cursor).toBe(String(head))
  })

  it('continues the sequence: the next event gets the next seq, and the client sees it', async () => {
    const appended = await appendBooking('8999')
    expect(appended.seq).toBe(String(head + 1))
    const token = allPermissionsToken(app.config)
    const response = await fetch(`${url}/api/long-poll?after=${head}&timeout_ms=2000`, { headers: bearer(token) })
    const body = (await response.json()) as { events: ChangeEvent[] }
    expect(body.events.map((e) => e.seq)).toEqual([String(head + 1)])
  })

  it('still tells a cursor older than the pruned part to refetch', async () => {
    const token = allPermissionsToken(app.config)
    const response = await fetch(`${url}/api/long-poll?after=${pruned - 1}&timeout_ms=0`, { headers: bearer(token) })
    expect(response.status).toBe(410)
  })

  it('leaves RLS on for every table and a second migrate has nothing to do', async () => {
    const { rows } = await app.db.query<{ name: string; rls: boolean }>(
      `SELECT n.nspname || '.' || c.relname AS name, c.relrowsecurity AS rls
         FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE c.relkind = 'r' AND (n.nspname = 'hubmirror' OR c.relname LIKE 'hubspot_%')`,
    )
    expect(rows.length).toBeGreaterThanOrEqual(8)
    expect(rows.filter((r) => !r.rls).map((r) => r.name)).toEqual([])
    const { migrate } = await import('../../src/replica/index.js')
    expect(await migrate(app.db)).toEqual([])
  })

  it('keeps the old log as the first partition, deletes nothing from it row by row, and drops it whole once all of it is old', async () => {
    const layout = await eventLogLayout(app.db)
    expect(layout.ranges[0]).toMatchObject({ name: 'replica_events_from_0', from: 0n, to: BigInt(head + 1) })
    const oldLog = async () =>
      Number(
        (await app.db.query<{ n: string }>('SELECT count(*)::text AS n FROM hubmirror.replica_events_from_0')).rows[0]
          .n,
      )
    const age = (through: number) =>
      app.db.query(`UPDATE hubmirror.replica_events SET created_at = now() - interval '30 days' WHERE seq <= $1`, [
        through,
      ])
    const kept = await oldLog()
    expect(kept).toBe(head - pruned)
    // Part of it past retention: the boundary moves (older cursors refetch), its rows stay.
    const part = pruned + Math.ceil((head - pruned) / 2)
    await age(part)
    expect(await pruneEvents(app.db, 7 * 86_400_000, 1)).toBe(0)
    expect(await prunedThrough(app.db)).toBe(String(part))
    expect(await oldLog()).toBe(kept)
    // All of it: dropped whole, and the log's sequence lives on without it.
    await age(head)
    expect(await pruneEvents(app.db, 7 * 86_400_000, 1)).toBe(kept)
    const { rows } = await app.db.query<{ there: boolean }>(
      `SELECT to_regclass('hubmirror.replica_events_from_0') IS NOT NULL AS there`,
    )
    expect(rows[0].there).toBe(false)
    const appended = await appendBooking('8998')
    expect(appended.seq).toBe(String(head + 2))
  })
})

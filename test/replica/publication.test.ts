// `hubmirror db publish` on a private cluster at wal_level=logical: another Postgres subscribes and receives a booking made through the API.
import { execFile } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { withDb } from '../support/resilience-harness.js'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { RunningEmulator } from '../../src/emulator/index.js'
import { startTestApp, startTestEmulator, type TestApp } from '../support/fixtures.js'
import { ownedDatabase, type OwnedDatabase } from '../support/owned-database.js'
import {
  postgresBin,
  privatePostgresUnavailable,
  startPrivatePostgres,
  type PrivatePostgres,
} from '../support/private-services.js'

const run = promisify(execFile)
const ROOT = join(import.meta.dirname, '../..')
const TABLES = ['public.hubspot_bookings', 'public.hubspot_mock_exams']
const unavailable = privatePostgresUnavailable()

const databaseOn = (url: string, database: string, user?: string) => {
  const next = new URL(url)
  next.pathname = `/${database}`
  if (user) next.username = user
  return next.toString()
}

describe.skipIf(unavailable)(
  unavailable ? `db publish (skipped: ${unavailable})` : 'db publish, then CREATE SUBSCRIPTION on another Postgres',
  () => {
    let publisher: PrivatePostgres
    let subscriber: PrivatePostgres
    let emulator: RunningEmulator
    let owned: OwnedDatabase
    let t: TestApp
    let base: string
    const dataDir = mkdtempSync(join(tmpdir(), 'hubmirror-publish-'))

    /** The CLI as a user runs it, with DATABASE_URL and nothing else of the test's environment that matters. */
    async function cli(databaseUrl: string, ...args: string[]): Promise<{ code: number; out: string; err: string }> {
      try {
        const { stdout, stderr } = await run(
          process.execPath,
          [join(ROOT, 'bin/hubmirror.js'), 'db', 'publish', ...args],
          {
            cwd: ROOT,
            env: { ...process.env, DATABASE_URL: databaseUrl, HUBMIRROR_DATA_DIR: dataDir, LOG_LEVEL: 'silent' },
          },
        )
        return { code: 0, out: stdout, err: stderr }
      } catch (error) {
        const failed = error as { code: number; stdout: string; stderr: string }
        return { code: failed.code, out: failed.stdout, err: failed.stderr }
      }
    }

    const publicationTables = (url: string, name: string) =>
      withDb(url, async (client) =>
        (
          await client.query<{ t: string }>(
            `SELECT schemaname || '.' || tablename AS t FROM pg_publication_tables WHERE pubname = $1 ORDER BY 1`,
            [name],
          )
        ).rows.map((row) => row.t),
      )

    beforeAll(async () => {
      ;[publisher, subscriber] = await Promise.all([
        startPrivatePostgres({ settings: { wal_level: 'logical' } }),
        // The other Postgres: a default cluster (wal_level=replica), as any downstream database may be.
        startPrivatePostgres(),
      ])
      emulator = await startTestEmulator()
      // Owned by a plain role, as Supabase's postgres is: the service migrates, so that role owns the tables.
      owned = await ownedDatabase(publisher.url)
      t = await startTestApp({ database: { url: owned.ownerUrl, drop: async () => {} }, emulator, redis: false })
      base = await t.app.listen()
    }, 120_000)
    afterAll(async () => {
      await t?.close()
      await emulator?.close()
      // A subscription holds a slot on the publisher: drop it before the publisher goes.
      await withDb(databaseOn(subscriber.url, 'downstream'), (client) =>
        client.query('DROP SUBSCRIPTION IF EXISTS hubmirror_downstream'),
      ).catch(() => undefined)
      await subscriber?.remove()
      await publisher?.remove()
      rmSync(dataDir, { recursive: true, force: true })
    })

    it('refuses at wal_level=replica, saying so, and creates nothing', async () => {
      const refused = await cli(subscriber.url)
      expect(refused.code, refused.err).toBe(2)
      expect(refused.err).toContain('wal_level is "replica"')
      expect(refused.err).toContain('ALTER SYSTEM SET wal_level = logical')
      await withDb(subscriber.url, async (client) => {
        expect((await client.query('SELECT 1 FROM pg_publication')).rowCount).toBe(0)
        // Refused before migrating: the database is as it was.
        expect((await client.query(`SELECT to_regclass('public.hubspot_bookings') AS t`)).rows[0].t).toBeNull()
      })
    })

    it('refuses a bad name naming --publication, and a role that owns nothing, saying it is privilege', async () => {
      const badName = await cli(owned.ownerUrl, '--publication', 'Bad-Name')
      expect(badName.code).toBe(2)
      expect(badName.err).toContain('"Bad-Name" is not a publication name')

      const stranger = `hm_stranger_${process.pid}`
      await withDb(publisher.url, (client) => client.query(`CREATE ROLE ${stranger} LOGIN`))
      const refused = await cli(databaseOn(owned.adminUrl, new URL(owned.adminUrl).pathname.slice(1), stranger))
      expect(refused.code, refused.err).toBe(2)
      expect(refused.err).toContain('insufficient privilege: this role does not own public.hubspot_bookings')
      expect(await publicationTables(owned.adminUrl, 'hubmirror_replica')).toEqual([])
    })

    it('publishes both tables, idempotently; a subscriber on another cluster receives a booking made through the API', async () => {
      const created = await cli(owned.ownerUrl)
      expect(created.code, created.err).toBe(0)
      expect(created.out).toContain(
        'publication hubmirror_replica created on public.hubspot_mock_exams, public.hubspot_bookings',
      )
      expect(await publicationTables(owned.adminUrl, 'hubmirror_replica')).toEqual(TABLES)
      const again = await cli(owned.ownerUrl, '--json')
      expect(again.code, again.err).toBe(0)
      expect(JSON.parse(again.out)).toEqual({
        publication: 'hubmirror_replica',
        action: 'unchanged',
        added: [],
        allTables: false,
        publishes: ['insert', 'update', 'delete', 'truncate'],
      })

      // The downstream database: pg_trgm (the student search's index uses it), the two tables'
      // definitions (as the README says), then a subscription.
      await withDb(subscriber.url, (client) => client.query('CREATE DATABASE downstream'))
      const downstream = databaseOn(subscriber.url, 'downstream')
      await withDb(downstream, (client) => client.query('CREATE EXTENSION IF NOT EXISTS pg_trgm'))
      const { stdout: ddl } = await run(postgresBin('pg_dump'), [
        '--schema-only',
        '--no-owner',
        '--no-privileges',
        ...TABLES.flatMap((table) => ['-t', table]),
        owned.adminUrl,
      ])
      await new Promise<void>((resolve, reject) => {
        const psql = execFile(postgresBin('psql'), ['-X', '-q', '-v', 'ON_ERROR_STOP=1', downstream], (error) =>
          error ? reject(error) : resolve(),
        )
        psql.stdin?.end(ddl)
      })
      await withDb(downstream, (client) =>
        client.query(
          `CREATE SUBSCRIPTION hubmirror_downstream CONNECTION '${owned.adminUrl}' PUBLICATION hubmirror_replica`,
        ),
      )

      const api = async (method: string, path: string, body?: unknown) => {
        const response = await fetch(base + path, {
          method,
          headers: {
            authorization: `Bearer ${t.token}`,
            ...(body === undefined ? {} : { 'content-type': 'application/json' }),
          },
          body: body === undefined ? undefined : JSON.stringify(body),
        })
        return { status: response.status, body: (await response.json()) as any }
      }
      const exam = await api('POST', '/api/mock-exams', {
        mock_exam_name: 'Published exam',
        mock_type: 'Clinical Skills',
        exam_date: '2026-12-11',
        start_time: '09:00',
        end_time: '12:00',
        location: 'Toronto',
        capacity: 12,
      })
      expect(exam.status, JSON.stringify(exam.body)).toBe(201)
      const examId = exam.body.exam.hubspot_id as string
      const booking = await api('POST', '/api/bookings', {
        examId,
        booking_id: `published-${process.pid}`,
        student_name: 'Downstream Student',
        student_email: 'downstream@example.com',
      })
      expect(booking.status, JSON.stringify(booking.body)).toBe(201)
      const bookingId = booking.body.booking.hubspot_id as string

      const downstreamBooking = () =>
        withDb(downstream, async (client) => {
          const { rows } = await client.query(
            `SELECT b.hubspot_id, b.mock_exam_id, b.student_email, b.booking_status, e.mock_exam_name, e.capacity
               FROM public.hubspot_bookings b LEFT JOIN public.hubspot_mock_exams e ON e.hubspot_id = b.mock_exam_id
              WHERE b.booking_id = $1`,
            [`published-${process.pid}`],
          )
          return rows[0] ?? null
        })
      await expect.poll(downstreamBooking, { timeout: 30_000, interval: 200 }).toMatchObject({
        hubspot_id: bookingId,
        mock_exam_id: examId,
        student_email: 'downstream@example.com',
        mock_exam_name: 'Published exam',
        capacity: 12,
      })
      // Updates follow too (a cancel is one): the subscriber is a replica, not a one-time copy.
      expect((await api('POST', `/api/bookings/${bookingId}/cancel`)).status).toBe(200)
      await expect
        .poll(async () => (await downstreamBooking())?.booking_status, { timeout: 30_000, interval: 200 })
        .toBe('cancelled')
    }, 120_000)

    it("extends Supabase Realtime's publication, keeping its own tables; a FOR ALL TABLES one needs nothing", async () => {
      // As in a Supabase project: supabase_realtime exists, owned by the role hubmirror runs as, with the app's tables.
      await withDb(owned.adminUrl, async (client) => {
        await client.query('CREATE TABLE public.messages (id INT PRIMARY KEY)')
        await client.query('CREATE PUBLICATION supabase_realtime FOR TABLE public.messages')
        await client.query(`ALTER PUBLICATION supabase_realtime OWNER TO ${owned.role}`)
        await client.query('CREATE PUBLICATION everything FOR ALL TABLES')
      })
      const extended = await cli(owned.ownerUrl, '--publication', 'supabase_realtime')
      expect(extended.code, extended.err).toBe(0)
      expect(extended.out).toContain(
        'publication supabase_realtime extended with public.hubspot_mock_exams, public.hubspot_bookings',
      )
      expect(extended.out).toContain("Supabase Realtime's postgres_changes now streams both tables")
      expect(await publicationTables(owned.adminUrl, 'supabase_realtime')).toEqual([...TABLES, 'public.messages'])
      const again = await cli(owned.ownerUrl, '--publication', 'supabase_realtime')
      expect(again.out).toContain('nothing to do')

      const all = await cli(owned.ownerUrl, '--publication', 'everything')
      expect(all.code, all.err).toBe(0)
      expect(all.out).toContain('publication everything already carries every table')
    })
  },
)

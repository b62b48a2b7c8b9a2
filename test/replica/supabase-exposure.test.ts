// On a database laid out like a Supabase project (roles anon/authenticated/service_role, default
// grants on public), hubmirror migrated and backfilled by a plain owner role: the Data API roles read
// and change nothing of it, until `hubmirror db policies --read` lets permitted users read.
import { execFile } from 'node:child_process'
import { join } from 'node:path'
import { promisify } from 'node:util'
import pg from 'pg'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { OWN_TABLES_SQL } from '../../src/replica/index.js'
import { bearer, startTestApp, type TestApp } from '../support/fixtures.js'
import { realPostgres } from '../support/env.js'
import { laySupabaseGrants, ownedDatabase, type OwnedDatabase } from '../support/owned-database.js'

const run = promisify(execFile)
const ROOT = join(import.meta.dirname, '../..')
const INSUFFICIENT_PRIVILEGE = '42501'

interface Outcome {
  /** Rows the role could read, or "denied". */
  read: number | 'denied'
  /** Rows changed by UPDATE / DELETE, or "denied"; INSERT and TRUNCATE either succeed ("done") or are refused. */
  update: number | 'denied'
  delete: number | 'denied'
  insert: 'done' | 'denied'
  truncate: 'done' | 'denied'
}

const claims = (permissions: string[] | null) =>
  JSON.stringify({
    role: 'authenticated',
    sub: 'user-1',
    aud: 'authenticated',
    ...(permissions ? { app_metadata: { permissions } } : {}),
  })

describe.skipIf(!realPostgres)('hubmirror on a Supabase-shaped database', () => {
  let db: OwnedDatabase
  let t: TestApp
  let admin: pg.Client
  let tables: Array<{ schema: string; name: string }>

  /** Everything the role can do to one table, each attempt in its own savepoint, all rolled back. */
  async function tryAll(role: 'anon' | 'authenticated', table: string, jwtClaims: string | null): Promise<Outcome> {
    const attempt = async <T>(sql: string, ok: (result: pg.QueryResult) => T): Promise<T | 'denied'> => {
      await admin.query('SAVEPOINT attempt')
      try {
        const result = await admin.query(sql)
        await admin.query('RELEASE SAVEPOINT attempt')
        return ok(result)
      } catch (error) {
        await admin.query('ROLLBACK TO SAVEPOINT attempt')
        // RLS refusing an INSERT says 42501 too; anything else is a broken test, not a pass.
        if ((error as { code?: string }).code !== INSUFFICIENT_PRIVILEGE) throw error
        return 'denied'
      }
    }
    // Looked up as the superuser: as anon the internal schema's names do not even resolve.
    const column = await firstColumn(table)
    await admin.query('BEGIN')
    try {
      await admin.query(`SET LOCAL ROLE ${role}`)
      await admin.query(`SELECT set_config('request.jwt.claims', $1, true)`, [jwtClaims ?? ''])
      return {
        read: await attempt(`SELECT * FROM ${table}`, (r) => r.rowCount ?? 0),
        update: await attempt(`UPDATE ${table} SET ${column} = ${column}`, (r) => r.rowCount ?? 0),
        delete: await attempt(`DELETE FROM ${table}`, (r) => r.rowCount ?? 0),
        insert: await attempt(`INSERT INTO ${table} DEFAULT VALUES`, () => 'done' as const).catch(
          // NOT NULL columns without defaults: the privilege check passed, which is the exposure.
          () => 'done' as const,
        ),
        truncate: await attempt(`TRUNCATE ${table} CASCADE`, () => 'done' as const),
      }
    } finally {
      await admin.query('ROLLBACK')
    }
  }

  async function firstColumn(table: string): Promise<string> {
    const [schema, name] = table.split('.')
    const { rows } = await admin.query<{ column_name: string }>(
      `SELECT attname AS column_name FROM pg_attribute
        WHERE attrelid = (quote_ident($1) || '.' || quote_ident($2))::regclass AND attnum > 0 AND NOT attisdropped
        ORDER BY attnum LIMIT 1`,
      [schema, name],
    )
    return rows[0].column_name
  }

  async function ownerCount(table: string): Promise<number> {
    const { rows } = await admin.query<{ n: number }>(`SELECT count(*)::int AS n FROM ${table}`)
    return rows[0].n
  }

  const cli = (args: string[]) =>
    run(process.execPath, [join(ROOT, 'bin/hubmirror.js'), ...args], {
      cwd: ROOT,
      env: {
        ...process.env,
        DATABASE_URL: db.ownerUrl,
        LOG_LEVEL: 'silent',
        HUBMIRROR_JWT_SECRET: 'test-secret-test-secret-test-secret',
      },
    })

  beforeAll(async () => {
    db = await ownedDatabase()
    await laySupabaseGrants(db)
    // The service connects as the owner: not a superuser, as Supabase's `postgres` is not.
    t = await startTestApp({ database: { url: db.ownerUrl, drop: async () => {} }, emulator: { seed: 300 } })
    const url = await t.app.listen()
    const pull = await fetch(`${url}/api/sync/pull`, { method: 'POST', headers: bearer(t.token) })
    expect(pull.status).toBe(200)
    admin = new pg.Client({ connectionString: db.adminUrl })
    await admin.connect()
    tables = (await admin.query<{ schema: string; name: string }>(OWN_TABLES_SQL)).rows
  }, 120_000)

  afterAll(async () => {
    await admin?.end()
    await t?.close()
    await db?.drop()
  })

  it('ran migrations and the backfill as a role that is not a superuser', async () => {
    const { rows } = await admin.query<{ rolsuper: boolean; rolbypassrls: boolean }>(
      'SELECT rolsuper, rolbypassrls FROM pg_roles WHERE rolname = $1',
      [db.role],
    )
    expect(rows[0]).toEqual({ rolsuper: false, rolbypassrls: false })
    expect(await ownerCount('public.hubspot_bookings')).toBe(300)
    expect(await ownerCount('hubmirror.replica_events')).toBeGreaterThan(300)
    const names = tables.map((table) => `${table.schema}.${table.name}`)
    expect(names).toEqual(
      expect.arrayContaining([
        'public.hubspot_mock_exams',
        'public.hubspot_bookings',
        'hubmirror.replica_events',
        'hubmirror.replica_events_retention',
        'hubmirror.sync_state',
        'hubmirror.hubmirror_state',
        'hubmirror.write_intents',
        'hubmirror.schema_migrations',
      ]),
    )
    // Nothing of hubmirror's is left in the exposed schema but the two replica tables.
    const { rows: leftovers } = await admin.query<{ relname: string }>(
      `SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE n.nspname = 'public' AND c.relkind = 'r'`,
    )
    expect(leftovers.map((r) => r.relname).sort()).toEqual(['hubspot_bookings', 'hubspot_mock_exams'])
  })

  it('gives anon and authenticated no row and no change in any table hubmirror created', async () => {
    const nothing = { read: 0, update: 0, delete: 0, insert: 'denied', truncate: 'denied' }
    for (const role of ['anon', 'authenticated'] as const)
      for (const { schema, name } of tables) {
        const table = `${schema}.${name}`
        const outcome = await tryAll(role, table, role === 'authenticated' ? claims(['exams.view']) : null)
        // Denied outright counts as nothing read or changed; a number must be zero.
        const normalised = {
          read: outcome.read === 'denied' ? 0 : outcome.read,
          update: outcome.update === 'denied' ? 0 : outcome.update,
          delete: outcome.delete === 'denied' ? 0 : outcome.delete,
          insert: outcome.insert,
          truncate: outcome.truncate,
        }
        expect(normalised, `${role} on ${table}`).toEqual(nothing)
      }
    // And the owner still sees everything (RLS is not forced on the owner).
    expect(await ownerCount('public.hubspot_bookings')).toBe(300)
  })

  it('after `db policies --read exams.view`: a permitted authenticated user reads bookings, others read none', async () => {
    const { stdout } = await cli(['db', 'policies', '--read', 'exams.view'])
    expect(stdout).toContain('policies added')
    const permitted = await tryAll('authenticated', 'public.hubspot_bookings', claims(['exams.view', 'sync.run']))
    expect(permitted.read).toBe(300)
    // Read only: writes are refused outright (no UPDATE/DELETE privilege), never applied.
    expect(permitted).toMatchObject({ update: 'denied', delete: 'denied', insert: 'denied', truncate: 'denied' })
    expect((await tryAll('authenticated', 'public.hubspot_mock_exams', claims(['exams.view']))).read).toBe(
      await ownerCount('public.hubspot_mock_exams'),
    )
    for (const other of [claims(['bookings.edit']), claims(null), null])
      expect((await tryAll('authenticated', 'public.hubspot_bookings', other)).read, String(other)).toBe(0)
    // A user can write their own user_metadata; only app_metadata counts.
    const forged = JSON.stringify({ role: 'authenticated', user_metadata: { permissions: ['exams.view'] } })
    expect((await tryAll('authenticated', 'public.hubspot_bookings', forged)).read).toBe(0)
    const anon = await tryAll('anon', 'public.hubspot_bookings', claims(['exams.view']))
    expect(anon.read === 'denied' || anon.read === 0).toBe(true)
    // The internal schema stays closed whatever the token says.
    expect((await tryAll('authenticated', 'hubmirror.replica_events', claims(['exams.view']))).read).toBe('denied')
  })

  it('after `db policies --revoke`: nobody reads again', async () => {
    const { stdout } = await cli(['db', 'policies', '--revoke'])
    expect(stdout).toContain('policies removed')
    const outcome = await tryAll('authenticated', 'public.hubspot_bookings', claims(['exams.view']))
    expect(outcome.read === 'denied' || outcome.read === 0).toBe(true)
  })

  it('refuses an unknown permission and changes nothing', async () => {
    await expect(cli(['db', 'policies', '--read', "x'; DROP TABLE public.hubspot_bookings; --"])).rejects.toMatchObject(
      {
        code: 2,
      },
    )
    expect(await ownerCount('public.hubspot_bookings')).toBe(300)
  })
})

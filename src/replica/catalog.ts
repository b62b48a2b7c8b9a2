// What the doctor asks Postgres about itself: the server and role, LISTEN round trips, hubmirror's tables and the Data API roles' privileges.
import { randomBytes } from 'node:crypto'
import pg from 'pg'
import type { Queryable, ReplicaDriver } from './driver.js'
import { DATA_API_ROLES, INTERNAL_SCHEMA, OWN_TABLES_SQL } from './schema.js'

export interface ServerIdentity {
  version: string
  user: string
  superuser: boolean
  bypass: boolean
}

/** The server's version and who we are connected as (superuser, BYPASSRLS). */
export async function serverIdentity(db: ReplicaDriver): Promise<ServerIdentity | undefined> {
  const { rows } = await db.query<ServerIdentity>(
    `SELECT split_part(version(), ' ', 2) AS version, current_user AS user,
            r.rolsuper AS superuser, r.rolbypassrls AS bypass
       FROM pg_roles r WHERE r.rolname = current_user`,
  )
  return rows[0]
}

/**
 * Sends a NOTIFY through the pool and waits for it on a LISTEN of the session connection
 * (`sessionUrl`; the driver itself when embedded). The milliseconds it took, or null when it did
 * not come back within `waitMs`: a transaction pooler or a read replica swallows it.
 */
export async function listenRoundTrip(
  db: ReplicaDriver,
  sessionUrl: string | null,
  waitMs: number,
): Promise<number | null> {
  const channel = `hubmirror_doctor_${randomBytes(4).toString('hex')}`
  const payload = randomBytes(8).toString('hex')
  if (db.kind === 'pglite') {
    let heard!: () => void
    const arrived = new Promise<void>((resolve) => (heard = resolve))
    const stop = await db.listen(channel, {
      onNotify: (p) => p === payload && heard(),
      onReconnect: () => undefined,
    })
    try {
      const started = Date.now()
      await db.notify(channel, payload)
      return (await within(arrived, waitMs)) ? Date.now() - started : null
    } finally {
      await stop()
    }
  }
  if (!sessionUrl) throw new Error('no session connection to LISTEN on')
  // A connection of its own, outside the pool: LISTEN needs a session that stays put.
  const client = new pg.Client({ connectionString: sessionUrl, connectionTimeoutMillis: 3_000 })
  client.on('error', () => undefined)
  try {
    await client.connect()
    const arrived = new Promise<void>((resolve) =>
      client.on('notification', (n) => n.channel === channel && n.payload === payload && resolve()),
    )
    await client.query(`LISTEN ${channel}`)
    const started = Date.now()
    await db.notify(channel, payload)
    return (await within(arrived, waitMs)) ? Date.now() - started : null
  } finally {
    await client.end().catch(() => undefined)
  }
}

async function within(promise: Promise<void>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined
  const timeout = new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(false), ms)))
  try {
    return await Promise.race([promise.then(() => true), timeout])
  } finally {
    clearTimeout(timer)
  }
}

export interface OwnTable {
  schema: string
  name: string
  rls: boolean
}

/** hubmirror's tables, wherever they live, and whether row-level security is on for each. */
export async function ownTables(db: ReplicaDriver): Promise<OwnTable[]> {
  return (await db.query<OwnTable>(OWN_TABLES_SQL)).rows
}

/** Tables an older hubmirror left in schema public, where the Data API serves them (as `public.name`). */
export async function legacyPublicTables(db: ReplicaDriver): Promise<string[]> {
  const { rows } = await db.query<{ name: string }>(
    `SELECT c.relname AS name FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p')
        AND c.relname IN ('replica_events', 'replica_events_retention', 'sync_state', 'hubmirror_state', 'write_intents', 'schema_migrations')`,
  )
  return rows.map((r) => `public.${r.name}`)
}

/** The Data API roles (anon, authenticated) this database has: none outside Supabase. */
export async function dataApiRoles(db: Queryable): Promise<string[]> {
  const { rows } = await db.query<{ rolname: string }>(
    'SELECT rolname FROM pg_roles WHERE rolname = ANY($1::text[]) ORDER BY rolname',
    [DATA_API_ROLES],
  )
  return rows.map((r) => r.rolname)
}

/** Which of the roles hold USAGE on the internal schema. */
export async function rolesUsingInternalSchema(db: ReplicaDriver, roles: string[]): Promise<string[]> {
  const { rows } = await db.query<{ role: string; usage: boolean }>(
    `SELECT r AS role, CASE WHEN to_regnamespace($2) IS NULL THEN false ELSE has_schema_privilege(r, $2, 'USAGE') END AS usage
       FROM unnest($1::text[]) AS r`,
    [roles, INTERNAL_SCHEMA],
  )
  return rows.filter((u) => u.usage).map((u) => u.role)
}

/** The table privileges asked after, in this order. */
const PRIVILEGES = ['SELECT', 'INSERT', 'UPDATE', 'DELETE', 'TRUNCATE', 'REFERENCES', 'TRIGGER'] as const

/** What each role may do on each table, counting PUBLIC and role memberships. */
export async function tablePrivileges(
  db: ReplicaDriver,
  roles: string[],
  tables: string[],
): Promise<Array<{ role: string; table: string; held: string[] }>> {
  // One query for every role × table × privilege: has_table_privilege counts PUBLIC and memberships too.
  const { rows } = await db.query<{ role: string; table: string; held: string[] | null }>(
    `SELECT r AS role, t AS "table",
            array_agg(p ORDER BY n) FILTER (WHERE has_table_privilege(r, t, p)) AS held
       FROM unnest($1::text[]) AS r, unnest($2::text[]) AS t, unnest($3::text[]) WITH ORDINALITY AS x(p, n)
      GROUP BY r, t ORDER BY r, t`,
    [roles, tables, PRIVILEGES],
  )
  return rows.map((r) => ({ ...r, held: r.held ?? [] }))
}

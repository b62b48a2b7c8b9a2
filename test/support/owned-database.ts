// A database owned by a plain (non-superuser) login role, as Supabase's `postgres` is; real Postgres only.
import { randomBytes } from 'node:crypto'
import pg from 'pg'
import { splitStatements } from '../../src/replica/sql-script.js'

export interface OwnedDatabase {
  /** Connects as the owning role: what the service and its migrations run as. */
  ownerUrl: string
  /** Connects as the test server's superuser to the same database (to SET ROLE anon, to inspect). */
  adminUrl: string
  role: string
  drop(): Promise<void>
}

function withDatabase(base: string, database: string, user?: string): string {
  const url = new URL(base)
  url.pathname = `/${database}`
  if (user) {
    url.username = user
    url.password = ''
  }
  return url.toString()
}

/** A fresh database and the role that owns it; the role may log in and is neither superuser nor BYPASSRLS. */
export async function ownedDatabase(base = process.env.DATABASE_URL!): Promise<OwnedDatabase> {
  const suffix = `${process.pid}_${randomBytes(4).toString('hex')}`
  const role = `hm_owner_${suffix}`
  const name = `hm_owned_${suffix}`
  await adminQuery(base, [
    `CREATE ROLE ${role} LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOBYPASSRLS`,
    `CREATE DATABASE ${name} OWNER ${role}`,
  ])
  return {
    ownerUrl: withDatabase(base, name, role),
    adminUrl: withDatabase(base, name),
    role,
    async drop() {
      await adminQuery(base, [`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`, `DROP ROLE IF EXISTS ${role}`]).catch(
        () => undefined,
      )
    },
  }
}

async function adminQuery(url: string, statements: string[]): Promise<void> {
  const client = new pg.Client({ connectionString: url })
  await client.connect()
  try {
    for (const statement of statements) await client.query(statement)
  } finally {
    await client.end()
  }
}

/**
 * Supabase's roles and default grants, as a new project has them: `anon`, `authenticated` and
 * `service_role` (BYPASSRLS), USAGE on public, and ALL on every table the owner creates there.
 * Roles are cluster-wide, so they are created once and shared by every test database.
 */
export async function laySupabaseGrants(db: OwnedDatabase): Promise<void> {
  await ensureSupabaseRoles(db.adminUrl)
  // As the owner, like Supabase's `postgres`: default privileges apply to tables that role creates.
  await adminQuery(db.ownerUrl, [
    'GRANT USAGE ON SCHEMA public TO anon, authenticated, service_role',
    'ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT ALL ON TABLES TO anon, authenticated, service_role',
    'ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT ALL ON SEQUENCES TO anon, authenticated, service_role',
    'ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT ALL ON FUNCTIONS TO anon, authenticated, service_role',
  ])
}

/** Supabase's three API roles, created once per cluster (concurrent test files may race to create them). */
export async function ensureSupabaseRoles(adminUrl: string): Promise<void> {
  await adminQuery(adminUrl, [
    `DO $$ BEGIN CREATE ROLE anon NOLOGIN NOINHERIT; EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL; END $$`,
    `DO $$ BEGIN CREATE ROLE authenticated NOLOGIN NOINHERIT; EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL; END $$`,
    `DO $$ BEGIN CREATE ROLE service_role NOLOGIN NOINHERIT BYPASSRLS; EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL; END $$`,
  ])
}

/** Applies SQL files' text statement by statement (to build an old schema layout by hand). */
export async function applySql(db: { query(sql: string): Promise<unknown> }, sql: string): Promise<void> {
  for (const statement of splitStatements(sql)) await db.query(statement)
}

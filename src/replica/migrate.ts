// Applies the SQL migrations in order, once each, safely when several instances start together.
import { readdirSync, readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import type { Queryable, ReplicaDriver } from './driver.js'
import { LOCKS } from './locks.js'

const MIGRATIONS_DIR = fileURLToPath(new URL('./migrations/', import.meta.url))

export interface Migration {
  version: string
  sql: string
}

export function loadMigrations(): Migration[] {
  return readdirSync(MIGRATIONS_DIR)
    .filter((name) => name.endsWith('.sql'))
    .sort()
    .map((name) => ({ version: name.replace(/\.sql$/, ''), sql: readFileSync(MIGRATIONS_DIR + name, 'utf8') }))
}

async function appliedVersions(db: Queryable): Promise<Set<string>> {
  const { rows } = await db.query<{ version: string }>('SELECT version FROM public.schema_migrations')
  return new Set(rows.map((row) => row.version))
}

/** Returns the versions it applied. */
export async function migrate(driver: ReplicaDriver): Promise<string[]> {
  await driver.query(`CREATE TABLE IF NOT EXISTS public.schema_migrations (
    version TEXT PRIMARY KEY, applied_at TIMESTAMPTZ NOT NULL DEFAULT NOW())`)
  const applied: string[] = []
  for (const migration of loadMigrations()) {
    // On DATABASE_DIRECT_URL when set: DDL is what Supabase sends to the direct connection.
    await driver.transaction(
      async (tx) => {
        // Serialises concurrent starters: the second waits, then sees the version as applied.
        if (driver.kind === 'pg') await tx.query('SELECT pg_advisory_xact_lock($1)', [LOCKS.migrate])
        if ((await appliedVersions(tx)).has(migration.version)) return
        for (const statement of splitStatements(migration.sql)) await tx.query(statement)
        await tx.query('INSERT INTO public.schema_migrations (version) VALUES ($1)', [migration.version])
        applied.push(migration.version)
      },
      { schema: true },
    )
  }
  return applied
}

export async function pendingMigrations(db: Queryable): Promise<string[]> {
  const done = await appliedVersions(db)
  return loadMigrations()
    .map((m) => m.version)
    .filter((version) => !done.has(version))
}

/** Our migrations contain no functions or quoted semicolons, so a split on ";" at line end is exact. */
function splitStatements(sql: string): string[] {
  return sql
    .split(/;\s*(?:\n|$)/)
    .map((statement) => statement.replace(/^\s*--.*$/gm, '').trim())
    .filter(Boolean)
}

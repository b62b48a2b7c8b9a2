// Applies the SQL migrations in order, once each, safely when several instances start together.
import { readdirSync, readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import type { Queryable, ReplicaDriver, Transaction, TransactionOptions } from './driver.js'
import { LOCKS } from './locks.js'
import { DATA_API_ROLES, INTERNAL_SCHEMA, REPLICA_TABLES } from './schema.js'
import { statementsFor } from './sql-script.js'

const MIGRATIONS_DIR = fileURLToPath(new URL('./migrations/', import.meta.url))
/** On DATABASE_DIRECT_URL when set (DDL is what Supabase sends to the direct connection), without the write timeout. */
const SCHEMA: TransactionOptions = { schema: true }
const LEDGER = `${INTERNAL_SCHEMA}.schema_migrations`
/** Where the ledger lived before the internal schema existed (migration 005 moved the rest). */
const LEGACY_LEDGER = 'public.schema_migrations'

export interface Migration {
  version: string
  sql: string
}

let shipped: readonly Migration[] | null = null

/**
 * The migrations this code ships, in order: read once, since they cannot change while it runs
 * (`/readyz` asks what is pending at every probe, and read the eleven files each time).
 */
export function loadMigrations(): readonly Migration[] {
  shipped ??= readdirSync(MIGRATIONS_DIR)
    .filter((name) => /^\d{3}_.*\.sql$/.test(name))
    .sort()
    .map((name) => ({ version: name.replace(/\.sql$/, ''), sql: readFileSync(MIGRATIONS_DIR + name, 'utf8') }))
  return shipped
}

/** Where the ledger is: moved (today), legacy (an installation from before 005), or none (fresh). */
async function ledgerLocation(db: Queryable): Promise<'current' | 'legacy' | 'none'> {
  const { rows } = await db.query<{ current: boolean; legacy: boolean }>(
    `SELECT to_regclass($1) IS NOT NULL AS current, to_regclass($2) IS NOT NULL AS legacy`,
    [LEDGER, LEGACY_LEDGER],
  )
  return rows[0].current ? 'current' : rows[0].legacy ? 'legacy' : 'none'
}

async function appliedVersions(db: Queryable): Promise<Set<string>> {
  const where = await ledgerLocation(db)
  if (where === 'none') return new Set()
  const { rows } = await db.query<{ version: string }>(
    `SELECT version FROM ${where === 'current' ? LEDGER : LEGACY_LEDGER}`,
  )
  return new Set(rows.map((row) => row.version))
}

async function lock(driver: ReplicaDriver, tx: Transaction): Promise<void> {
  // Serialises concurrent starters: the second waits, then sees the work as done.
  if (driver.kind === 'pg') await tx.query('SELECT pg_advisory_xact_lock($1)', [LOCKS.migrate])
}

/**
 * The runner reads its ledger before any migration runs, so the ledger cannot be moved by one:
 * it is created in (or, on an installation from before migration 005, moved into) the internal
 * schema here. Nothing here needs superuser: the database owner may create schemas, and owns
 * the tables it moves.
 */
async function ensureLedger(driver: ReplicaDriver): Promise<void> {
  await driver.transaction(async (tx) => {
    await lock(driver, tx)
    const where = await ledgerLocation(tx)
    if (where === 'current') return
    // Checked first: CREATE SCHEMA IF NOT EXISTS checks the CREATE privilege even when it exists.
    const { rows } = await tx.query<{ exists: boolean }>('SELECT to_regnamespace($1) IS NOT NULL AS exists', [
      INTERNAL_SCHEMA,
    ])
    if (!rows[0].exists) await tx.query(`CREATE SCHEMA ${INTERNAL_SCHEMA}`)
    if (where === 'legacy') await tx.query(`ALTER TABLE ${LEGACY_LEDGER} SET SCHEMA ${INTERNAL_SCHEMA}`)
    else
      await tx.query(`CREATE TABLE ${LEDGER} (version TEXT PRIMARY KEY, applied_at TIMESTAMPTZ NOT NULL DEFAULT NOW())`)
    await tx.query(`ALTER TABLE ${LEDGER} ENABLE ROW LEVEL SECURITY`)
  }, SCHEMA)
}

/**
 * After any migration: every table in the internal schema has RLS on (no policy, so the Data API
 * roles see no row even if granted), and those roles hold no privilege on the schema or its
 * tables. Covers tables later migrations add without each having to remember. Only changes what
 * needs changing, since ALTER TABLE takes an exclusive lock.
 */
const HARDEN_INTERNAL_SQL = `DO $$
DECLARE
  t record;
  r text;
BEGIN
  FOR t IN SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
            WHERE n.nspname = '${INTERNAL_SCHEMA}' AND c.relkind IN ('r', 'p') AND NOT c.relrowsecurity LOOP
    EXECUTE format('ALTER TABLE %I.%I ENABLE ROW LEVEL SECURITY', '${INTERNAL_SCHEMA}', t.relname);
  END LOOP;
  FOREACH r IN ARRAY ARRAY[${DATA_API_ROLES.map((role) => `'${role}'`).join(', ')}] LOOP
    IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = r) THEN
      EXECUTE format('REVOKE ALL ON SCHEMA %I FROM %I', '${INTERNAL_SCHEMA}', r);
      EXECUTE format('REVOKE ALL ON ALL TABLES IN SCHEMA %I FROM %I', '${INTERNAL_SCHEMA}', r);
      EXECUTE format('REVOKE ALL ON ALL SEQUENCES IN SCHEMA %I FROM %I', '${INTERNAL_SCHEMA}', r);
    END IF;
  END LOOP;
END $$`

/**
 * Returns the versions it applied. Every start calls this, and a schema already up to date is the
 * usual case: one look at the ledger, outside any transaction and lock, settles it. Only what that
 * look found pending is taken further, under the lock, looking again (another instance starting
 * beside this one may have applied some meanwhile). An empty database keeps no one waiting, so all
 * of it goes in one transaction; an upgrade, or a database whose replica tables some other app made
 * (the seed's) and may be using, goes one migration a transaction, so that each one's table locks
 * are held only while it runs. Round trips are what a hosted database a region away charges for
 * (`npm run bench -- startup`).
 */
export async function migrate(driver: ReplicaDriver): Promise<string[]> {
  const done = await appliedVersions(driver)
  const pending = notIn(done)
  if (pending.length === 0) return []
  await ensureLedger(driver)
  const empty = done.size === 0 && (await replicaTablesFound(driver)) === 'none'
  const groups = empty ? [pending] : pending.map((migration) => [migration])
  const applied: string[] = []
  for (const group of groups) {
    // Told by what the transaction returns, not pushed from inside it: a transaction run again must not count twice.
    const ran = await driver.transaction(async (tx) => {
      await lock(driver, tx)
      // ensureLedger put the ledger in place, and no migration moves it.
      const { rows } = await tx.query<{ version: string }>(
        `SELECT version FROM ${LEDGER} WHERE version = ANY($1::text[])`,
        [group.map((migration) => migration.version)],
      )
      const already = new Set(rows.map((row) => row.version))
      const versions: string[] = []
      for (const migration of group) {
        if (already.has(migration.version)) continue
        for (const statement of statementsFor(driver.kind, migration.sql)) await tx.query(statement)
        versions.push(migration.version)
      }
      if (versions.length === 0) return versions
      await tx.query(`INSERT INTO ${LEDGER} (version) SELECT unnest($1::text[])`, [versions])
      await tx.query(HARDEN_INTERNAL_SQL)
      return versions
    }, SCHEMA)
    applied.push(...ran)
  }
  return applied
}

/** The migrations this code has that `done` does not hold, in order. */
function notIn(done: ReadonlySet<string>): Migration[] {
  return loadMigrations().filter((migration) => !done.has(migration.version))
}

/** How many of the replica's tables the database holds: some other app (the seed's) may have made them. */
export async function replicaTablesFound(db: Queryable): Promise<'all' | 'some' | 'none'> {
  const { rows } = await db.query<{ found: number }>(
    'SELECT count(to_regclass(t))::int AS found FROM unnest($1::text[]) AS t',
    [REPLICA_TABLES],
  )
  return rows[0].found === REPLICA_TABLES.length ? 'all' : rows[0].found > 0 ? 'some' : 'none'
}

export interface MigrationState {
  /** Where the ledger is: `legacy` is an installation from before the internal schema. */
  ledger: 'current' | 'legacy' | 'none'
  applied: string[]
  pending: string[]
  /** Applied versions this code does not have: a newer hubmirror migrated the database. */
  unknown: string[]
}

export async function migrationState(db: Queryable): Promise<MigrationState> {
  const ledger = await ledgerLocation(db)
  const done = await appliedVersions(db)
  const known = loadMigrations().map((m) => m.version)
  return {
    ledger,
    applied: [...done].sort(),
    pending: known.filter((version) => !done.has(version)),
    unknown: [...done].filter((version) => !known.includes(version)).sort(),
  }
}

/** Versions not applied yet; all of them on a database never migrated. */
export async function pendingMigrations(db: Queryable): Promise<string[]> {
  return notIn(await appliedVersions(db)).map((m) => m.version)
}

// `hubmirror db publish`: a logical-replication publication on the replica tables (CREATE SUBSCRIPTION, Supabase Realtime).
import { AppError } from '../errors.js'
import type { Queryable, ReplicaDriver } from './driver.js'
import { LOCKS } from './locks.js'
import { migrate, replicaTablesFound } from './migrate.js'
import { REPLICA_TABLES } from './schema.js'

/** What `db publish` creates when no --publication is given. */
export const DEFAULT_PUBLICATION = 'hubmirror_replica'
/** Supabase Realtime's postgres_changes streams the tables of this one (every project has it, empty at first). */
export const SUPABASE_REALTIME_PUBLICATION = 'supabase_realtime'
/** A plain lower-case identifier (what Postgres folds an unquoted name to), at most NAMEDATALEN - 1 bytes. */
const NAME_PATTERN = /^[a-z_][a-z0-9_]{0,62}$/
const INSUFFICIENT_PRIVILEGE = '42501'

export interface PublishOutcome {
  publication: string
  /** created: a new publication; extended: tables added to an existing one; unchanged: it already carried them. */
  action: 'created' | 'extended' | 'unchanged'
  /** The replica tables this call added. */
  added: string[]
  /** A FOR ALL TABLES publication (carries the replica tables without naming them). */
  allTables: boolean
  /** The row changes it publishes (insert, update, delete, truncate); a subscriber sees only these. */
  publishes: string[]
}

interface PublicationRow {
  all_tables: boolean
  owned: boolean
  publishes: string[]
}

async function assertLogicalWal(db: Queryable): Promise<void> {
  const { rows } = await db.query<{ wal_level: string }>(`SELECT current_setting('wal_level') AS wal_level`)
  const level = rows[0].wal_level
  if (level !== 'logical')
    throw new AppError(
      'E_CONFLICT',
      `wal_level is "${level}", and a subscriber (or Supabase Realtime) can only follow a publication at wal_level = logical: ` +
        'as a superuser run ALTER SYSTEM SET wal_level = logical, restart Postgres, then run `hubmirror db publish` again ' +
        '(Supabase projects already run at logical)',
      { details: { wal_level: level } },
    )
}

function insufficientPrivilege(what: string, cause?: unknown): AppError {
  return new AppError(
    'E_FORBIDDEN',
    `insufficient privilege: ${what}. Run \`hubmirror db publish\` as the role that owns hubmirror's tables (the one ` +
      'that ran its migrations; on Supabase the postgres role of the direct or session connection), or as a superuser',
    { cause },
  )
}

/** Tables the current role may not add to a publication: Postgres asks for ownership of each. */
async function tablesNotOwned(db: Queryable): Promise<string[]> {
  const { rows } = await db.query<{ name: string }>(
    `SELECT n.nspname || '.' || c.relname AS name
       FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE n.nspname || '.' || c.relname = ANY($1::text[]) AND NOT pg_has_role(c.relowner, 'USAGE')
      ORDER BY 1`,
    [REPLICA_TABLES],
  )
  return rows.map((row) => row.name)
}

async function findPublication(db: Queryable, name: string): Promise<PublicationRow | null> {
  const { rows } = await db.query<PublicationRow>(
    `SELECT puballtables AS all_tables, pg_has_role(pubowner, 'USAGE') AS owned,
            array_remove(ARRAY[CASE WHEN pubinsert THEN 'insert' END, CASE WHEN pubupdate THEN 'update' END,
                               CASE WHEN pubdelete THEN 'delete' END, CASE WHEN pubtruncate THEN 'truncate' END], NULL) AS publishes
       FROM pg_publication WHERE pubname = $1`,
    [name],
  )
  return rows[0] ?? null
}

/** The replica tables the publication already carries (named, through its schemas, or all tables). */
async function publishedTables(db: Queryable, name: string): Promise<Set<string>> {
  const { rows } = await db.query<{ name: string }>(
    `SELECT schemaname || '.' || tablename AS name FROM pg_publication_tables WHERE pubname = $1`,
    [name],
  )
  return new Set(rows.map((row) => row.name))
}

/**
 * Creates the publication on both replica tables, or adds the missing ones to an existing one
 * (e.g. Supabase's supabase_realtime, which may already carry the project's own tables: they are
 * left as they are). Running it again changes nothing. Fails, before changing anything, when
 * wal_level is not logical or the role may not do it. Migrates first if the tables do not exist yet.
 */
export async function publishReplicaTables(
  db: ReplicaDriver,
  publication = DEFAULT_PUBLICATION,
): Promise<PublishOutcome> {
  if (!NAME_PATTERN.test(publication))
    throw new AppError(
      'E_VALIDATION',
      `"${publication}" is not a publication name: lower-case letters, digits and _, starting with a letter or _, at most 63`,
      { field: 'publication' },
    )
  if (db.kind !== 'pg')
    throw new AppError(
      'E_VALIDATION',
      'the embedded database (PGlite) cannot publish to other databases: set DATABASE_URL to the Postgres to publish from',
      { field: 'DATABASE_URL' },
    )
  await assertLogicalWal(db)
  // The tables must exist to be published: a database never migrated gets them now, owned by this role.
  if ((await replicaTablesFound(db)) !== 'all') await migrate(db)
  try {
    // A schema change: on DATABASE_DIRECT_URL when set; one at a time with migrations and other publishers.
    return await db.transaction(
      async (tx) => {
        await tx.query('SELECT pg_advisory_xact_lock($1)', [LOCKS.migrate])
        const existing = await findPublication(tx, publication)
        const present = existing ? await publishedTables(tx, publication) : new Set<string>()
        const missing = REPLICA_TABLES.filter((table) => !present.has(table))
        if (existing && missing.length === 0)
          return {
            publication,
            action: 'unchanged' as const,
            added: [],
            allTables: existing.all_tables,
            publishes: existing.publishes,
          }
        const notOwned = await tablesNotOwned(tx)
        if (notOwned.length > 0) throw insufficientPrivilege(`this role does not own ${notOwned.join(', ')}`)
        if (existing && !existing.owned)
          throw insufficientPrivilege(`this role does not own the publication "${publication}"`)
        if (!existing) {
          const { rows } = await tx.query<{ may: boolean }>(
            `SELECT has_database_privilege(current_database(), 'CREATE') AS may`,
          )
          if (!rows[0].may)
            throw insufficientPrivilege(
              'this role has no CREATE privilege on the database (needed to create a publication)',
            )
          await tx.query(`CREATE PUBLICATION ${publication} FOR TABLE ${missing.join(', ')}`)
        } else await tx.query(`ALTER PUBLICATION ${publication} ADD TABLE ${missing.join(', ')}`)
        const after = await findPublication(tx, publication)
        return {
          publication,
          action: existing ? ('extended' as const) : ('created' as const),
          added: missing,
          allTables: false,
          publishes: after?.publishes ?? [],
        }
      },
      { schema: true },
    )
  } catch (error) {
    // Whatever the checks above did not foresee (a role setup of the host's own) still reads as a privilege problem.
    if ((error as { code?: string }).code === INSUFFICIENT_PRIVILEGE)
      throw insufficientPrivilege((error as Error).message, error)
    throw error
  }
}

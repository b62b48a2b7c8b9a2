// Opt-in RLS read policies on the replica tables for Supabase's `authenticated` role (`hubmirror db policies`).
import { AppError } from '../errors.js'
import type { ReplicaDriver } from './driver.js'
import { INTERNAL_SCHEMA, REPLICA_TABLES } from './schema.js'

/** One name per table, so that --read replaces and --revoke finds exactly what hubmirror made. */
export const READ_POLICY = 'hubmirror_read'
const READER_ROLE = 'authenticated'
/** Permission names are plain words (exams.view); anything else is refused before it reaches DDL. */
const PERMISSION_PATTERN = /^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)*$/

/**
 * The claims as PostgREST (and Supabase Realtime) set them for the request, as Supabase's own
 * `auth.jwt()` reads them; NULLIF because a setting reset inside a transaction reads as ''.
 */
export function permissionCheck(permission: string): string {
  return `coalesce((nullif(current_setting('request.jwt.claims', true), '')::jsonb -> 'app_metadata' -> 'permissions') ? '${permission}', false)`
}

async function assertReaderRole(db: ReplicaDriver): Promise<void> {
  const { rows } = await db.query<{ exists: boolean }>(
    'SELECT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = $1) AS exists',
    [READER_ROLE],
  )
  if (!rows[0].exists)
    throw new AppError(
      'E_NOT_FOUND',
      `this database has no "${READER_ROLE}" role: read policies are for Supabase's Data API and Realtime (a Supabase project has the role)`,
    )
}

/**
 * Lets `authenticated` users whose token's app_metadata.permissions holds `permission` read the
 * exam and booking tables (supabase-js selects, Realtime postgres_changes); nobody else. Writes
 * stay closed: hubmirror is the only writer, HubSpot the source of truth.
 */
export async function grantReadPolicies(db: ReplicaDriver, permission: string): Promise<void> {
  if (!PERMISSION_PATTERN.test(permission))
    throw new AppError('E_VALIDATION', `"${permission}" is not a permission name`, { field: 'read' })
  await assertReaderRole(db)
  await db.transaction(async (tx) => {
    for (const table of REPLICA_TABLES) {
      await tx.query(`DROP POLICY IF EXISTS ${READ_POLICY} ON ${table}`)
      await tx.query(
        `CREATE POLICY ${READ_POLICY} ON ${table} AS PERMISSIVE FOR SELECT TO ${READER_ROLE} USING (${permissionCheck(permission)})`,
      )
      await tx.query(`GRANT SELECT ON ${table} TO ${READER_ROLE}`)
    }
  })
}

/** Removes what grantReadPolicies added: the tables are closed to the Data API roles again. */
export async function revokeReadPolicies(db: ReplicaDriver): Promise<void> {
  await db.transaction(async (tx) => {
    for (const table of REPLICA_TABLES) {
      await tx.query(`DROP POLICY IF EXISTS ${READ_POLICY} ON ${table}`)
      const { rows } = await tx.query<{ exists: boolean }>(
        'SELECT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = $1) AS exists',
        [READER_ROLE],
      )
      if (rows[0].exists) await tx.query(`REVOKE SELECT ON ${table} FROM ${READER_ROLE}`)
    }
  })
}

export interface PolicyRow {
  table: string
  name: string
  roles: string[]
  command: string
  using: string | null
}

/** Every policy on hubmirror's replica tables (doctor reports them; any not ours is worth a look). */
export async function listPolicies(db: ReplicaDriver): Promise<PolicyRow[]> {
  const { rows } = await db.query<PolicyRow>(
    `SELECT schemaname || '.' || tablename AS "table", policyname AS name, roles::text[] AS roles, cmd AS command, qual AS using
       FROM pg_policies WHERE schemaname || '.' || tablename = ANY($1::text[]) OR schemaname = $2
      ORDER BY 1, 2`,
    [REPLICA_TABLES, INTERNAL_SCHEMA],
  )
  return rows
}

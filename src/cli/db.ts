// `hubmirror db migrate | policies | publish`: the schema, opt-in RLS read policies, and a publication for subscribers.
import { loadConfig } from '../config/index.js'
import { isAppError } from '../errors.js'
import { PERMISSIONS } from '../http/jwt.js'
import {
  DEFAULT_PUBLICATION,
  grantReadPolicies,
  migrate,
  openReplica,
  publishReplicaTables,
  REPLICA_TABLES,
  revokeReadPolicies,
  SUPABASE_REALTIME_PUBLICATION,
  type ReplicaDriver,
} from '../replica/index.js'
import { booleanFlag, stringFlag, UsageError, type ParsedArgs } from './args.js'
import { refuseWhileServerHoldsEmbeddedDb } from './running-server.js'

/** Runs fn on the replica; a refusal (an AppError below 500: bad input, wal_level, privilege) is exit code 2. */
async function withReplica(command: string, fn: (db: ReplicaDriver) => Promise<number>): Promise<number> {
  const config = loadConfig()
  await refuseWhileServerHoldsEmbeddedDb(config, command)
  const db = await openReplica(config)
  try {
    return await fn(db)
  } catch (error) {
    if (isAppError(error) && error.status < 500) {
      console.error(`${command}: ${error.message}`)
      return 2
    }
    throw error
  } finally {
    await db.close()
  }
}

export async function migrateCommand(): Promise<number> {
  return withReplica('db migrate', async (db) => {
    const applied = await migrate(db)
    console.log(applied.length ? `applied ${applied.join(', ')}` : 'schema is up to date')
    return 0
  })
}

export async function policiesCommand(args: ParsedArgs): Promise<number> {
  const permission = stringFlag(args, 'read')
  const revoke = booleanFlag(args, 'revoke')
  if (revoke === (permission !== undefined))
    throw new UsageError('give either --read PERMISSION (e.g. --read exams.view) or --revoke')
  if (permission !== undefined && !(PERMISSIONS as readonly string[]).includes(permission))
    throw new UsageError(`unknown permission "${permission}"; known: ${PERMISSIONS.join(', ')}`)
  return withReplica('db policies', async (db) => {
    // The policies go on the tables migrations make: a database never migrated has none yet.
    await migrate(db)
    if (permission) {
      await grantReadPolicies(db, permission)
      console.log(
        `policies added: authenticated users whose app_metadata.permissions holds "${permission}" may read ` +
          'public.hubspot_mock_exams and public.hubspot_bookings (read only; `hubmirror db policies --revoke` removes this)',
      )
    } else {
      await revokeReadPolicies(db)
      console.log('policies removed: the Data API roles read nothing of hubmirror again')
    }
    return 0
  })
}

export async function publishCommand(args: ParsedArgs): Promise<number> {
  const publication = stringFlag(args, 'publication') ?? DEFAULT_PUBLICATION
  if (!loadConfig().databaseUrl)
    throw new UsageError(
      'needs DATABASE_URL: the embedded database (PGlite) cannot publish to other databases; point DATABASE_URL at the Postgres to publish from',
    )
  return withReplica('db publish', async (db) => {
    const outcome = await publishReplicaTables(db, publication)
    if (booleanFlag(args, 'json')) {
      console.log(JSON.stringify(outcome))
      return 0
    }
    const tables = REPLICA_TABLES.join(', ')
    const ops = outcome.publishes.join(', ')
    if (outcome.action === 'created') console.log(`publication ${publication} created on ${tables} (publishes ${ops})`)
    else if (outcome.action === 'extended')
      console.log(`publication ${publication} extended with ${outcome.added.join(', ')} (publishes ${ops})`)
    else
      console.log(
        `publication ${publication} already carries ${outcome.allTables ? 'every table' : tables} (publishes ${ops}): nothing to do`,
      )
    if (!['insert', 'update', 'delete'].every((op) => outcome.publishes.includes(op)))
      console.log(
        `note: ${publication} does not publish every row change; subscribers will miss the rest (ALTER PUBLICATION ... SET (publish = ...))`,
      )
    if (publication === SUPABASE_REALTIME_PUBLICATION)
      console.log(
        "Supabase Realtime's postgres_changes now streams both tables; RLS decides who sees which rows " +
          '(`hubmirror db policies --read exams.view` lets permitted authenticated users see them).',
      )
    else
      console.log(
        [
          'on the other Postgres: create the two tables, then subscribe over a direct connection (not a pooler), e.g.',
          `  pg_dump --schema-only --no-owner --no-privileges ${REPLICA_TABLES.map((t) => `-t ${t}`).join(' ')} "$DIRECT_URL" | psql "$OTHER_URL"`,
          `  psql "$OTHER_URL" -c "CREATE SUBSCRIPTION ${publication} CONNECTION '<direct connection string>' PUBLICATION ${publication}"`,
        ].join('\n'),
      )
    return 0
  })
}

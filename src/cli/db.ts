// `hubmirror db migrate | policies`: the schema, and the opt-in RLS read policies for Supabase clients.
import { loadConfig } from '../config/index.js'
import { isAppError } from '../errors.js'
import { PERMISSIONS } from '../http/jwt.js'
import { grantReadPolicies, migrate, openReplica, revokeReadPolicies, type ReplicaDriver } from '../replica/index.js'
import { booleanFlag, stringFlag, UsageError, type ParsedArgs } from './args.js'
import { refuseWhileServerHoldsEmbeddedDb } from './running-server.js'

async function withReplica<T>(command: string, fn: (db: ReplicaDriver) => Promise<T>): Promise<T> {
  const config = loadConfig()
  await refuseWhileServerHoldsEmbeddedDb(config, command)
  const db = await openReplica(config)
  try {
    return await fn(db)
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
    try {
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
    } catch (error) {
      if (isAppError(error) && error.status < 500) {
        console.error(`db policies: ${error.message}`)
        return 2
      }
      throw error
    }
  })
}

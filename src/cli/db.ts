// `hubmirror db migrate | policies`: the schema, and the opt-in RLS read policies for Supabase clients.
import { loadConfig } from '../config/index.js'
import { isAppError } from '../errors.js'
import { PERMISSIONS } from '../http/jwt.js'
import { grantReadPolicies, migrate, openReplica, revokeReadPolicies, type ReplicaDriver } from '../replica/index.js'
import { parseArgs, stringFlag } from './args.js'

async function withReplica<T>(fn: (db: ReplicaDriver) => Promise<T>): Promise<T> {
  const db = await openReplica(loadConfig())
  try {
    return await fn(db)
  } finally {
    await db.close()
  }
}

export async function dbCommand(argv: string[]): Promise<number> {
  const [sub, ...rest] = argv
  if (sub === 'migrate')
    return withReplica(async (db) => {
      const applied = await migrate(db)
      console.log(applied.length ? `applied ${applied.join(', ')}` : 'schema is up to date')
      return 0
    })
  if (sub === 'policies') return policiesCommand(rest)
  console.error('db: the subcommands are "migrate" and "policies"')
  return 2
}

async function policiesCommand(argv: string[]): Promise<number> {
  const args = parseArgs(argv, ['revoke'])
  const permission = stringFlag(args, 'read')
  const revoke = args.flags.has('revoke')
  if (revoke === (permission !== undefined)) {
    console.error('db policies: give either --read PERMISSION (e.g. --read exams.view) or --revoke')
    return 2
  }
  if (permission !== undefined && !(PERMISSIONS as readonly string[]).includes(permission)) {
    console.error(`db policies: unknown permission "${permission}"; known: ${PERMISSIONS.join(', ')}`)
    return 2
  }
  return withReplica(async (db) => {
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

// The database checks: reachable, migrated, a session for LISTEN and locks, and nothing exposed through the Data API.
import {
  dataApiRoles,
  legacyPublicTables,
  listenRoundTrip,
  listPolicies,
  migrationState,
  ownTables,
  REPLICA_TABLES,
  rolesUsingInternalSchema,
  serverIdentity,
  tablePrivileges,
  INTERNAL_SCHEMA,
  type OwnTable,
  type ReplicaDriver,
} from '../replica/index.js'
import { bounded, message, redact, type DoctorInput } from './common.js'
import { check, type Check } from './report.js'

/** How long a NOTIFY may take to come back to our LISTEN before we call it lost. */
const LISTEN_ROUND_TRIP_MS = 3_000

export async function databaseChecks(input: DoctorInput): Promise<Check[]> {
  const { db, config } = input
  const where = config.databaseUrl ? redact(config.databaseUrl) : 'embedded PGlite'
  const dependent = (reason: string): Check[] =>
    (['migrations', 'pool', 'listen', 'rls', 'grants'] as const).map((id) => check(id, 'skip', reason))
  if (!db)
    return [
      check('database', 'fail', `cannot open ${where}: ${message(input.dbError)}`, {
        fix: 'check DATABASE_URL (host, port, user, password, database); on Supabase copy it from Project Settings → Database',
      }),
      ...dependent('the database is not reachable'),
    ]
  const [reach] = await bounded('database', async () => {
    const r = await serverIdentity(db)
    return check(
      'database',
      'ok',
      `${where}: PostgreSQL ${r?.version ?? '?'} as ${r?.user ?? '?'}${r?.superuser ? ' (superuser)' : ''}`,
    )
  })
  if (reach.status !== 'ok') {
    reach.fix ??= 'check DATABASE_URL and that Postgres is up and accepts connections from here'
    if (reach.status === 'fail' && !reach.summary.startsWith(where)) reach.summary = `${where}: ${reach.summary}`
    return [reach, ...dependent('the database is not reachable')]
  }
  const rest = await Promise.all([
    bounded('migrations', () => migrationsCheck(db)),
    poolChecks(input),
    bounded('rls', () => exposureChecks(db)),
  ])
  return [reach, ...rest.flat()]
}

async function migrationsCheck(db: ReplicaDriver): Promise<Check> {
  const state = await migrationState(db)
  const fix = '`npx hubmirror db migrate` (the service also migrates when it starts)'
  if (state.ledger === 'none') return check('migrations', 'fail', 'this database was never migrated', { fix })
  if (state.pending.length)
    return check(
      'migrations',
      'fail',
      `${state.pending.length} pending: ${state.pending.join(', ')}${state.ledger === 'legacy' ? ' (an installation from before schema hubmirror: migrating moves its tables)' : ''}`,
      { fix },
    )
  if (state.unknown.length)
    return check('migrations', 'warn', `applied by a newer hubmirror: ${state.unknown.join(', ')}`, {
      fix: 'run the same hubmirror version on every instance',
    })
  return check('migrations', 'ok', `all ${state.applied.length} applied (latest ${state.applied.at(-1)})`)
}

async function poolChecks(input: DoctorInput): Promise<Check[]> {
  const db = input.db!
  const { mode, detectedBy, wakeups, locks } = db.topology
  const directUrl = input.config.databaseDirectUrl
  const directFix =
    'set DATABASE_DIRECT_URL to a direct or session-mode connection for LISTEN, session locks and migrations ' +
    '(Supabase: the session pooler on port 5432, or db.<ref>.supabase.co:5432), or DATABASE_POOL_MODE=session if this is not a transaction pooler'
  const how = `wake-ups by ${wakeups}, locks by ${locks}`
  const pool =
    db.kind === 'pglite'
      ? check('pool', 'ok', 'embedded: one session in this process')
      : mode === 'session'
        ? check('pool', 'ok', `session (${detectedBy}): ${how}`)
        : directUrl
          ? check(
              'pool',
              'ok',
              `transaction pooler (${detectedBy}); DATABASE_DIRECT_URL carries LISTEN and locks: ${how}`,
            )
          : check(
              'pool',
              'fail',
              `DATABASE_URL is a transaction pooler (${detectedBy}) and DATABASE_DIRECT_URL is not set: no LISTEN (other instances' changes arrive by polling), locks are leases (a crashed holder blocks for their TTL)`,
              { fix: directFix },
            )
  const sessionUrl = directUrl ?? (mode === 'session' ? input.config.databaseUrl : null)
  const [listen] = await bounded('listen', () => listenCheck(db, sessionUrl))
  if (listen.status === 'fail') listen.fix ??= directFix
  return [pool, listen]
}

/** A NOTIFY sent through the pool must come back to a LISTEN on the session connection. */
async function listenCheck(db: ReplicaDriver, sessionUrl: string | null): Promise<Check> {
  if (db.kind === 'pglite')
    return (await listenRoundTrip(db, null, LISTEN_ROUND_TRIP_MS)) !== null
      ? check('listen', 'ok', 'a NOTIFY came back (in-process)')
      : check('listen', 'fail', 'a NOTIFY did not come back')
  if (!sessionUrl)
    return check('listen', 'fail', 'no session connection to LISTEN on: other instances wake this one only by polling')
  const ms = await listenRoundTrip(db, sessionUrl, LISTEN_ROUND_TRIP_MS)
  if (ms !== null) return check('listen', 'ok', `a NOTIFY came back in ${ms} ms`)
  return check(
    'listen',
    'fail',
    `a NOTIFY sent through DATABASE_URL did not reach a LISTEN on ${redact(sessionUrl)} within ${LISTEN_ROUND_TRIP_MS / 1000} s (a transaction pooler, or a read replica?)`,
  )
}

/** The exposure the Data API would give: RLS on every table, and what anon/authenticated may do. */
async function exposureChecks(db: ReplicaDriver): Promise<Check[]> {
  const tables = await ownTables(db)
  const full = (t: OwnTable) => `${t.schema}.${t.name}`
  const off = tables.filter((t) => !t.rls)
  const policies = await listPolicies(db)
  const foreign = policies.filter((p) => p.name !== 'hubmirror_read')
  const leftovers = await legacyPublicTables(db)
  if (tables.length === 0)
    return [
      check('rls', 'skip', 'no hubmirror tables yet (not migrated)'),
      check('grants', 'skip', 'no hubmirror tables yet (not migrated)'),
    ]
  let rls: Check
  if (off.length)
    rls = check('rls', 'fail', `RLS is off on ${off.map(full).join(', ')}`, {
      fix: off.map((t) => `ALTER TABLE ${full(t)} ENABLE ROW LEVEL SECURITY;`).join(' '),
    })
  else if (foreign.length || leftovers.length)
    rls = check('rls', 'warn', `RLS on for all ${tables.length} tables, but:`, {
      details: [
        ...foreign.map(
          (p) => `policy ${p.name} on ${p.table} (${p.command} to ${p.roles.join(', ')}) is not hubmirror's`,
        ),
        ...leftovers.map((t) => `${t} is left in public from an older hubmirror (served by the Data API)`),
      ],
      fix: 'check those policies are meant; drop leftover tables once nothing old runs',
    })
  else
    rls = check(
      'rls',
      'ok',
      `on for all ${tables.length} tables${policies.length ? `; read policy for ${policyPermission(policies[0].using)}` : ', no policy (nothing readable through the Data API)'}`,
    )
  return [rls, await grantsCheck(db, tables.map(full))]
}

function policyPermission(using: string | null): string {
  return /\?\s*'([^']+)'/.exec(using ?? '')?.[1] ?? 'a permission'
}

async function grantsCheck(db: ReplicaDriver, tables: string[]): Promise<Check> {
  const names = await dataApiRoles(db)
  if (names.length === 0)
    return check(
      'grants',
      'ok',
      'no anon/authenticated roles in this database (not Supabase): no Data API to expose to',
    )
  const problems: string[] = []
  const fixes: string[] = []
  const notes: string[] = []
  for (const role of await rolesUsingInternalSchema(db, names)) {
    problems.push(`${role} has USAGE on schema ${INTERNAL_SCHEMA}`)
    fixes.push(`REVOKE ALL ON SCHEMA ${INTERNAL_SCHEMA} FROM ${role};`)
  }
  for (const { role, table, held } of await tablePrivileges(db, names, tables)) {
    const replica = (REPLICA_TABLES as readonly string[]).includes(table)
    // On the replica tables SELECT is what `db policies --read` grants; RLS decides the rows.
    const bad = replica ? held.filter((p) => p !== 'SELECT') : held
    if (bad.length) {
      problems.push(
        `${role} may ${bad.join(', ')} on ${table}${bad.includes('TRUNCATE') ? ' (TRUNCATE ignores RLS)' : ''}`,
      )
      fixes.push(`REVOKE ${bad.join(', ')} ON ${table} FROM ${role};`)
    } else if (held.includes('SELECT')) notes.push(`${role} may SELECT ${table} (rows as RLS policies allow)`)
  }
  if (problems.length)
    return check('grants', 'fail', `the Data API roles hold privileges they must not`, {
      details: problems,
      fix: fixes.join(' '),
    })
  return check('grants', 'ok', `${names.join(' and ')}: no write, no internal access`, {
    details: notes,
  })
}

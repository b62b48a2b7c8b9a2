// `hubmirror doctor` and the dashboard's checks: is each dependency reachable, configured right and safe.
import { randomBytes } from 'node:crypto'
import { existsSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import pg from 'pg'
import { evictionVerdict, probeRedis } from '../cache/index.js'
import { formatMode, looseEntries } from '../config/data-dir.js'
import type { Config } from '../config/index.js'
import { hubspotPaths, probeHubSpot, resolveObjectType, type HubSpotProbe, type RateBudget } from '../hubspot/index.js'
import {
  DATA_API_ROLES,
  INTERNAL_SCHEMA,
  listPolicies,
  migrationState,
  OWN_TABLES_SQL,
  REPLICA_TABLES,
  type ReplicaDriver,
} from '../replica/index.js'
import { check, report, type Check, type DoctorReport } from './report.js'

export * from './report.js'

export interface DoctorInput {
  config: Config
  /** The replica to look at; null when it could not be opened (dbError says why). */
  db: ReplicaDriver | null
  dbError?: unknown
  /** HubSpot as this deployment reaches it; null when none is configured here. */
  hubspot: { baseUrl: string; accessToken: string } | null
  /** Said instead of checking HubSpot when `hubspot` is null and that is expected. */
  hubspotAbsent?: string
  /** The rate budget this process spends from (what the deployment used today). */
  budget?: RateBudget | null
}

/** Longest any one check may take: a doctor must answer even when everything hangs. */
const CHECK_TIMEOUT_MS = 6_000
/** How long a NOTIFY may take to come back to our LISTEN before we call it lost. */
const LISTEN_ROUND_TRIP_MS = 3_000
/** HubSpot's Date header has 1 s resolution; more than this apart, token times and the sync's look-back window suffer. */
const CLOCK_WARN_MS = 5_000
const CLOCK_FAIL_MS = 30_000
/** Below this share of the daily allowance left, say so before it runs out. */
const BUDGET_WARN_SHARE = 0.1
const PRIVILEGES = ['SELECT', 'INSERT', 'UPDATE', 'DELETE', 'TRUNCATE', 'REFERENCES', 'TRIGGER'] as const

async function bounded(id: Check['id'], fn: () => Promise<Check | Check[]>): Promise<Check[]> {
  let timer: NodeJS.Timeout | undefined
  const timeout = new Promise<Check>((resolve) => {
    timer = setTimeout(
      () => resolve(check(id, 'fail', `no answer within ${CHECK_TIMEOUT_MS / 1000} s`, { fix: 'see the lines above' })),
      CHECK_TIMEOUT_MS,
    )
  })
  try {
    const result = await Promise.race([
      fn().catch((error) => check(id, 'fail', `check failed: ${message(error)}`)),
      timeout,
    ])
    return Array.isArray(result) ? result : [result]
  } finally {
    clearTimeout(timer)
  }
}

function message(error: unknown): string {
  const e = error as { code?: string; message?: string } | null
  const text = String(e?.message ?? error).split('\n')[0]
  return e?.code && !text.includes(e.code) ? `${text} (${e.code})` : text
}

/** A URL without its password, for messages. */
function redact(url: string): string {
  try {
    const parsed = new URL(url)
    if (parsed.password) parsed.password = '***'
    return parsed.toString()
  } catch {
    return '(unparsable URL)'
  }
}

export async function runDoctor(input: DoctorInput): Promise<DoctorReport> {
  const groups = await Promise.all([
    databaseChecks(input),
    bounded('redis', () => redisCheck(input.config)),
    hubspotChecks(input),
    bounded('jwt', () => jwtCheck(input.config)),
    bounded('data_dir', async () => dataDirCheck(input.config)),
  ])
  return report(groups.flat())
}

// ── database ─────────────────────────────────────────────────────────────────────────────────

async function databaseChecks(input: DoctorInput): Promise<Check[]> {
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
    const { rows } = await db.query<{ version: string; user: string; superuser: boolean; bypass: boolean }>(
      `SELECT split_part(version(), ' ', 2) AS version, current_user AS user,
              r.rolsuper AS superuser, r.rolbypassrls AS bypass
         FROM pg_roles r WHERE r.rolname = current_user`,
    )
    const r = rows[0]
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
      await db.notify(channel, payload)
      return (await within(arrived, LISTEN_ROUND_TRIP_MS))
        ? check('listen', 'ok', 'a NOTIFY came back (in-process)')
        : check('listen', 'fail', 'a NOTIFY did not come back')
    } finally {
      await stop()
    }
  }
  if (!sessionUrl)
    return check('listen', 'fail', 'no session connection to LISTEN on: other instances wake this one only by polling')
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
    if (await within(arrived, LISTEN_ROUND_TRIP_MS))
      return check('listen', 'ok', `a NOTIFY came back in ${Date.now() - started} ms`)
    return check(
      'listen',
      'fail',
      `a NOTIFY sent through DATABASE_URL did not reach a LISTEN on ${redact(sessionUrl)} within ${LISTEN_ROUND_TRIP_MS / 1000} s (a transaction pooler, or a read replica?)`,
    )
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

interface TableRow {
  schema: string
  name: string
  rls: boolean
}

/** The exposure the Data API would give: RLS on every table, and what anon/authenticated may do. */
async function exposureChecks(db: ReplicaDriver): Promise<Check[]> {
  const tables = (await db.query<TableRow>(OWN_TABLES_SQL)).rows
  const full = (t: TableRow) => `${t.schema}.${t.name}`
  const off = tables.filter((t) => !t.rls)
  const policies = await listPolicies(db)
  const foreign = policies.filter((p) => p.name !== 'hubmirror_read')
  const leftovers = (
    await db.query<{ name: string }>(
      `SELECT c.relname AS name FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p')
          AND c.relname IN ('replica_events', 'replica_events_retention', 'sync_state', 'hubmirror_state', 'write_intents', 'schema_migrations')`,
    )
  ).rows.map((r) => `public.${r.name}`)
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
  const { rows: roles } = await db.query<{ rolname: string }>(
    'SELECT rolname FROM pg_roles WHERE rolname = ANY($1::text[]) ORDER BY rolname',
    [DATA_API_ROLES],
  )
  if (roles.length === 0)
    return check(
      'grants',
      'ok',
      'no anon/authenticated roles in this database (not Supabase): no Data API to expose to',
    )
  const problems: string[] = []
  const fixes: string[] = []
  const notes: string[] = []
  const names = roles.map((r) => r.rolname)
  const { rows: usage } = await db.query<{ role: string; usage: boolean }>(
    `SELECT r AS role, CASE WHEN to_regnamespace($2) IS NULL THEN false ELSE has_schema_privilege(r, $2, 'USAGE') END AS usage
       FROM unnest($1::text[]) AS r`,
    [names, INTERNAL_SCHEMA],
  )
  for (const { role } of usage.filter((u) => u.usage)) {
    problems.push(`${role} has USAGE on schema ${INTERNAL_SCHEMA}`)
    fixes.push(`REVOKE ALL ON SCHEMA ${INTERNAL_SCHEMA} FROM ${role};`)
  }
  // One query for every role × table × privilege: has_table_privilege counts PUBLIC and memberships too.
  const { rows: grants } = await db.query<{ role: string; table: string; held: string[] | null }>(
    `SELECT r AS role, t AS "table",
            array_agg(p ORDER BY n) FILTER (WHERE has_table_privilege(r, t, p)) AS held
       FROM unnest($1::text[]) AS r, unnest($2::text[]) AS t, unnest($3::text[]) WITH ORDINALITY AS x(p, n)
      GROUP BY r, t ORDER BY r, t`,
    [names, tables, PRIVILEGES],
  )
  for (const { role, table, held: granted } of grants) {
    const held = granted ?? []
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
  return check('grants', 'ok', `${roles.map((r) => r.rolname).join(' and ')}: no write, no internal access`, {
    details: notes,
  })
}

// ── Redis ────────────────────────────────────────────────────────────────────────────────────

async function redisCheck(config: Config): Promise<Check> {
  if (!config.redisUrl) return check('redis', 'ok', 'not configured: in-process cache (fine for one instance)')
  const probe = await probeRedis(config.redisUrl)
  if (!probe.reachable)
    return check('redis', 'fail', `${redact(config.redisUrl)} does not answer (${probe.error})`, {
      fix: 'start Redis or correct REDIS_URL; meanwhile reads go to Postgres and instances share no cache or HubSpot budget',
    })
  const verdict = evictionVerdict(probe.policy, probe.maxmemory)
  const memory = probe.maxmemory ? `maxmemory ${Math.round(probe.maxmemory / 1024 / 1024)} MB` : 'no maxmemory'
  const found = `Redis ${probe.version ?? '?'}, ${memory}, maxmemory-policy ${probe.policy ?? 'unreadable (CONFIG disabled)'}`
  return check(
    'redis',
    verdict,
    found,
    verdict === 'ok'
      ? {}
      : {
          fix:
            probe.policy === null
              ? 'make sure the policy is volatile-lru (or another volatile-*): evicting keys without a TTL serves stale data'
              : probe.policy === 'noeviction'
                ? 'set maxmemory-policy volatile-lru: with noeviction a full Redis refuses cache writes'
                : `set maxmemory-policy volatile-lru: ${probe.policy} may evict the cache's generation counters, after which stale responses can be served`,
        },
  )
}

// ── HubSpot ──────────────────────────────────────────────────────────────────────────────────

const HUBSPOT_IDS = ['hubspot_token', 'hubspot_objects', 'hubspot_limits', 'hubspot_budget', 'clock'] as const

async function hubspotChecks(input: DoctorInput): Promise<Check[]> {
  const { hubspot, config } = input
  if (!hubspot) {
    const why = input.hubspotAbsent ?? 'no HUBSPOT_ACCESS_TOKEN or HUBSPOT_BASE_URL: the service serves reads only'
    return [
      check('hubspot_token', input.hubspotAbsent ? 'ok' : 'warn', why, {
        fix: 'set HUBSPOT_ACCESS_TOKEN (a private-app token) to sync HubSpot',
      }),
      ...HUBSPOT_IDS.slice(1).map((id) => check(id, 'skip', 'no HubSpot to ask here')),
    ]
  }
  const probe = await probeWithin(probeHubSpot(hubspot, hubspotPaths(config.hubspot.apiVersion)))
  const token = tokenCheck(probe, hubspot.baseUrl)
  if (!probe.reachable || token.status === 'fail')
    return [token, ...HUBSPOT_IDS.slice(1).map((id) => check(id, 'skip', 'HubSpot did not accept the call'))]
  return [
    token,
    objectsCheck(probe, config),
    limitsCheck(probe, config),
    await budgetCheck(probe, input.budget ?? null),
    clockCheck(probe),
  ]
}

async function probeWithin(promise: Promise<HubSpotProbe>): Promise<HubSpotProbe> {
  let timer: NodeJS.Timeout | undefined
  const timeout = new Promise<HubSpotProbe>(
    (resolve) => (timer = setTimeout(() => resolve({ reachable: false, error: 'timeout' }), CHECK_TIMEOUT_MS)),
  )
  try {
    return await Promise.race([promise, timeout])
  } finally {
    clearTimeout(timer)
  }
}

function tokenCheck(probe: HubSpotProbe, baseUrl: string): Check {
  if (!probe.reachable)
    return check('hubspot_token', 'fail', `HubSpot at ${baseUrl} did not answer (${probe.error})`, {
      fix: 'check the network and HUBSPOT_BASE_URL (unset means https://api.hubapi.com)',
    })
  const scopes =
    'a private app token (HUBSPOT_ACCESS_TOKEN) with crm.schemas.custom.read, crm.objects.custom.read and crm.objects.custom.write'
  if (probe.status === 401)
    return check(
      'hubspot_token',
      'fail',
      `HubSpot refused the token (401${probe.message ? `: ${probe.message}` : ''})`,
      {
        fix: `set HUBSPOT_ACCESS_TOKEN to ${scopes}; rotated tokens must be replaced`,
      },
    )
  if (probe.status === 403)
    return check('hubspot_token', 'fail', `the token lacks a scope (403${probe.message ? `: ${probe.message}` : ''})`, {
      fix: `give the private app the scopes: ${scopes}`,
    })
  if (probe.status === 429)
    return check('hubspot_token', 'warn', 'HubSpot answered 429: rate-limited right now', {
      fix: 'wait; if it persists, another app of the account is using the limit',
    })
  if (probe.status >= 400)
    return check(
      'hubspot_token',
      'fail',
      `HubSpot answered ${probe.status}${probe.message ? `: ${probe.message}` : ''}`,
      {
        fix: 'check HUBSPOT_BASE_URL and HUBSPOT_API_VERSION',
      },
    )
  return check('hubspot_token', 'ok', `accepted by ${new URL(baseUrl).host}`)
}

function objectsCheck(probe: Extract<HubSpotProbe, { reachable: true }>, config: Config): Check {
  const found: string[] = []
  const missing: string[] = []
  for (const [ref, name, variable] of [
    [config.hubspot.mockExamsObject, 'mock_exams', 'HUBSPOT_MOCK_EXAMS_OBJECT'],
    [config.hubspot.bookingsObject, 'bookings', 'HUBSPOT_BOOKINGS_OBJECT'],
  ] as const) {
    try {
      const id = resolveObjectType(probe.schemas, ref, name, variable)
      if (!probe.schemas.some((s) => s.objectTypeId === id)) throw new Error(`${variable}: HubSpot has no object ${id}`)
      found.push(`${name} ${id}`)
    } catch (error) {
      missing.push(message(error))
    }
  }
  if (missing.length)
    return check('hubspot_objects', 'fail', missing.join('; '), {
      fix: 'create the mock_exams and bookings custom objects in HubSpot, or set HUBSPOT_MOCK_EXAMS_OBJECT / HUBSPOT_BOOKINGS_OBJECT to their 2-… ids',
    })
  return check('hubspot_objects', 'ok', found.join(', '))
}

function limitsCheck(probe: Extract<HubSpotProbe, { reachable: true }>, config: Config): Check {
  const { max, intervalMs, daily } = probe.limits
  const configured = `HUBSPOT_RATE_LIMIT_10S=${config.hubspot.rateLimit10s}, HUBSPOT_DAILY_LIMIT=${config.hubspot.dailyLimit}`
  if (max === null && daily === null)
    return check('hubspot_limits', 'warn', `HubSpot sent no rate-limit headers; going by ${configured}`, {
      fix: 'set the two variables to your account tier (HubSpot omits the daily pair for OAuth apps)',
    })
  const per10s = max !== null ? Math.floor((max * 10_000) / (intervalMs || 10_000)) : null
  const stated = [
    per10s !== null ? `${per10s} per 10 s` : null,
    daily !== null ? `${daily.toLocaleString('en')} a day` : null,
  ]
    .filter(Boolean)
    .join(', ')
  const over: string[] = []
  if (per10s !== null && config.hubspot.rateLimit10s > per10s) over.push(`HUBSPOT_RATE_LIMIT_10S=${per10s}`)
  if (daily !== null && config.hubspot.dailyLimit > daily) over.push(`HUBSPOT_DAILY_LIMIT=${daily}`)
  if (over.length)
    return check('hubspot_limits', 'fail', `HubSpot states ${stated}; configured above that (${configured})`, {
      fix: `set ${over.join(' and ')}: above HubSpot's limits every burst ends in 429s`,
    })
  return check('hubspot_limits', 'ok', `HubSpot states ${stated}; configured within (${configured})`)
}

async function budgetCheck(
  probe: Extract<HubSpotProbe, { reachable: true }>,
  budget: RateBudget | null,
): Promise<Check> {
  const { daily, dailyRemaining } = probe.limits
  const ours = budget ? await budget.usage().catch(() => null) : null
  const usedHere = ours ? `; this deployment used ${ours.used_daily.toLocaleString('en')} today` : ''
  if (daily === null || dailyRemaining === null)
    return check('hubspot_budget', 'ok', `HubSpot does not state the daily budget (OAuth apps have none)${usedHere}`)
  const left = `${dailyRemaining.toLocaleString('en')} of ${daily.toLocaleString('en')} left today${usedHere}`
  if (dailyRemaining <= 0)
    return check('hubspot_budget', 'fail', `the daily limit is used up (${left})`, {
      fix: "HubSpot refuses calls until midnight in the account's time zone: wait, or find the app spending it",
    })
  if (dailyRemaining < daily * BUDGET_WARN_SHARE)
    return check('hubspot_budget', 'warn', left, { fix: 'less than 10% left: find what is spending it' })
  return check('hubspot_budget', 'ok', left)
}

function clockCheck(probe: Extract<HubSpotProbe, { reachable: true }>): Check {
  if (probe.serverTime === null) return check('clock', 'skip', 'HubSpot sent no Date header')
  const skew = probe.localTime - probe.serverTime
  const text = `${skew >= 0 ? 'ahead of' : 'behind'} HubSpot by ${(Math.abs(skew) / 1000).toFixed(1)} s`
  const fix =
    'synchronise the clock (NTP: `timedatectl set-ntp true`, or chrony): token expiry and the sync’s look-back window assume it'
  // The Date header drops the milliseconds: up to 1 s of apparent skew is only rounding.
  if (Math.abs(skew) > CLOCK_FAIL_MS) return check('clock', 'fail', text, { fix })
  if (Math.abs(skew) > CLOCK_WARN_MS) return check('clock', 'warn', text, { fix })
  return check('clock', 'ok', Math.abs(skew) <= 1_000 ? 'in step with HubSpot (within the Date header’s 1 s)' : text)
}

// ── JWT ──────────────────────────────────────────────────────────────────────────────────────

/** Whether the secret in use is the one generated into the data dir (the config does not say where it came from). */
function generatedSecret(config: Config): boolean {
  try {
    return readFileSync(join(config.dataDir, 'jwt-secret'), 'utf8').trim() === config.jwtSecret
  } catch {
    return false
  }
}

async function jwtCheck(config: Config): Promise<Check> {
  const fromEnv = !generatedSecret(config)
  const secret = fromEnv ? 'HS256 secret from HUBMIRROR_JWT_SECRET' : 'HS256 secret generated into the data dir'
  const url = config.jwks?.url ?? null
  if (!url) {
    // Several instances with their own generated secrets refuse each other's tokens.
    if (!fromEnv && config.databaseUrl)
      return check('jwt', 'warn', `${secret}: each instance with its own data dir signs with a different one`, {
        fix: 'set HUBMIRROR_JWT_SECRET (the same on every instance; a Supabase project’s JWT secret works), or SUPABASE_URL to verify Supabase tokens by JWKS',
      })
    return check('jwt', 'ok', secret)
  }
  let keys: unknown[] | null = null
  let failure: string | null = null
  try {
    const response = await fetch(url, { signal: AbortSignal.timeout(4_000), headers: { accept: 'application/json' } })
    if (!response.ok) failure = `answered ${response.status}`
    else {
      const body = (await response.json().catch(() => null)) as { keys?: unknown } | null
      keys = Array.isArray(body?.keys) ? body.keys : null
      if (!keys) failure = 'is not a JWKS (no "keys" array)'
    }
  } catch (error) {
    failure = `did not answer (${message(error)})`
  }
  if (failure)
    return check('jwt', 'fail', `the JWKS at ${url} ${failure}`, {
      fix: 'check SUPABASE_URL / HUBMIRROR_JWKS_URL (https://<ref>.supabase.co/auth/v1/.well-known/jwks.json) and the network',
    })
  if (keys!.length === 0)
    return check(
      'jwt',
      'warn',
      `the JWKS at ${url} holds no keys (the project still signs with the legacy secret); ${secret}`,
      {
        fix: 'set HUBMIRROR_JWT_SECRET to the project’s JWT secret, or move the project to signing keys',
      },
    )
  return check(
    'jwt',
    'ok',
    `JWKS at ${url}: ${keys!.length} key(s), issuer ${config.jwks!.issuer}, audience ${config.jwks!.audience}; ${secret}`,
  )
}

// ── data dir ─────────────────────────────────────────────────────────────────────────────────

/** Entries named in the report; the count says how many more. */
const LOOSE_SHOWN = 5

/** PGlite's pages and WAL, the emulator's portal and the secrets: none of it for other users of the machine. */
function dataDirCheck(config: Config): Check {
  const dir = config.dataDir
  if (!existsSync(dir)) return check('data_dir', 'skip', `${dir} does not exist yet (made owner-only at first start)`)
  if (process.platform === 'win32') return check('data_dir', 'skip', 'file modes are not checked on Windows')
  const { loose, truncated } = looseEntries(dir)
  if (loose.length === 0 && !truncated) return check('data_dir', 'ok', `${dir}: every folder 0700, every file 0600`)
  const details = loose.slice(0, LOOSE_SHOWN).map((e) => `${e.kind} ${e.path} is ${formatMode(e.mode)}`)
  if (loose.length > LOOSE_SHOWN) details.push(`and ${loose.length - LOOSE_SHOWN} more`)
  if (truncated) details.push('(stopped counting: too many entries)')
  return check(
    'data_dir',
    'fail',
    `${loose.length} folder(s) or file(s) under ${dir} are readable or writable by group or others (database pages, students' emails, secrets)`,
    {
      fix: `restart \`hubmirror serve\` (it makes them owner-only at start), or run: chmod -R go-rwx '${dir}'`,
      details,
    },
  )
}

// Reads and validates the environment into one typed Config, filling in the embedded defaults.
import { randomBytes } from 'node:crypto'
import {
  existsSync,
  linkSync,
  lstatSync,
  openSync,
  readFileSync,
  statSync,
  unlinkSync,
  writeSync,
  closeSync,
} from 'node:fs'
import { resolve, join } from 'node:path'
import { isSharedFolder, makePrivateDir } from './data-dir.js'
import { parseDuration } from './duration.js'

export { parseDuration }

export interface Config {
  port: number
  host: string
  dataDir: string
  /** unset → embedded PGlite under dataDir */
  databaseUrl: string | null
  /**
   * A direct (or session-pooled) connection for LISTEN, session locks and migrations, when
   * databaseUrl is a transaction pooler (Prisma's directUrl). unset → everything uses databaseUrl.
   */
  databaseDirectUrl: string | null
  /** What databaseUrl is, when detection should be overridden. null → detected at start. */
  databasePoolMode: 'session' | 'transaction' | null
  /** unset → in-process cache only */
  redisUrl: string | null
  /** Prefix of every Redis key, so that deployments (or test runs) can share one Redis. */
  redisNamespace: string
  hubspot: {
    /** unset → the built-in emulator is started in-process */
    accessToken: string | null
    baseUrl: string | null
    mockExamsObject: string | null
    bookingsObject: string | null
    /** The path family every client call is built from: date-versioned `2026-03`, or legacy `v3`. */
    apiVersion: HubSpotApiVersion
    /** Only a starting guess for the burst limit: the budget learns the real one from HubSpot's headers. */
    rateLimit10s: number
    searchRatePerSecond: number
    dailyLimit: number
  }
  /** The HS256 secret: HUBMIRROR_JWT_SECRET, else the one generated into the data dir. */
  jwtSecret: string
  /** Asymmetric bearer tokens (ES256, RS256, EdDSA) from an OIDC-style issuer's JWKS; null: HS256 only. */
  jwks: JwksConfig | null
  /** Claims every token must carry; `issuer` null: not checked (HS256 only, no issuer configured). */
  jwtClaims: { issuer: string | null; audience: string }
  syncStaleAfterMs: number
  syncLiveIntervalMs: number
  /** How long the change log keeps events; older realtime cursors are told to refetch. */
  eventRetentionMs: number
  logLevel: string
  bodyLimitBytes: number
  /** What one token (or everyone together) may hold or ask for: streams, GraphQL work, queued pulls. */
  limits: ClientLimits
  /**
   * A separate listen address for `GET /metrics` (unauthenticated there, and no /metrics on the
   * main port); null: /metrics on the main port, behind the `metrics.read` permission.
   */
  metricsListen: { host: string; port: number } | null
}

export interface ClientLimits {
  /** Open SSE, WebSocket, long-poll and graphql-ws streams per token subject (all kinds together). */
  maxStreamsPerSubject: number
  /** Open streams on this instance, whoever holds them. */
  maxStreams: number
  /** Open public seats-left streams (no token) from one client IP. */
  publicStreamsPerIp: number
  /** Open public seats-left streams on this instance, counted apart from the token-holding ones. */
  publicStreams: number
  /** Bytes an SSE or WebSocket reader may fall behind before it is dropped (it resumes from its cursor). */
  streamBacklogBytes: number
  /** Computed cost of one GraphQL operation: each field 1, each list 10, each `changes` its `limit`. */
  graphqlMaxCost: number
  /** Fields in one GraphQL operation, fragments expanded. */
  graphqlMaxFields: number
  /** Aliased fields in one GraphQL operation (alias amplification). */
  graphqlMaxAliases: number
  /** Active subscriptions on one graphql-ws connection. */
  graphqlMaxSubscriptions: number
  /** Schema introspection (`__schema`, `__type`); off unless asked for or in development. */
  graphqlIntrospection: boolean
  /** HubSpot pulls one caller (token subject) may have waiting at once; more get 429. */
  maxQueuedPullsPerCaller: number
}

export interface JwksConfig {
  url: string
  issuer: string
  audience: string
}

/** Supabase Auth's audience for signed-in users (`anon` tokens are not for us). */
const SUPABASE_AUDIENCE = 'authenticated'
/** Fewer bytes than this is not a secret an HMAC should be keyed with (RFC 7518 §3.2). */
const MIN_SECRET_BYTES = 32

export const HUBSPOT_API_VERSIONS = ['2026-03', 'v3'] as const
export type HubSpotApiVersion = (typeof HUBSPOT_API_VERSIONS)[number]

export class ConfigError extends Error {
  constructor(
    public readonly variable: string,
    message: string,
  ) {
    super(`${variable}: ${message}`)
    this.name = 'ConfigError'
  }
}

type Env = Record<string, string | undefined>

function text(env: Env, name: string): string | null {
  const value = env[name]?.trim()
  return value ? value : null
}

function integer(env: Env, name: string, fallback: number, min = 0): number {
  const raw = text(env, name)
  if (raw === null) return fallback
  const value = Number(raw)
  if (!Number.isInteger(value) || value < min)
    throw new ConfigError(name, `expected an integer >= ${min}, got "${raw}"`)
  return value
}

function boolean(env: Env, name: string, fallback: boolean): boolean {
  const raw = text(env, name)?.toLowerCase()
  if (raw === undefined || raw === null) return fallback
  if (['true', '1', 'yes', 'on'].includes(raw)) return true
  if (['false', '0', 'no', 'off'].includes(raw)) return false
  throw new ConfigError(name, `expected true or false, got "${raw}"`)
}

function oneOf<T extends string>(env: Env, name: string, allowed: readonly T[], fallback: T): T {
  const raw = text(env, name)
  if (raw === null) return fallback
  if (!(allowed as readonly string[]).includes(raw))
    throw new ConfigError(name, `expected one of ${allowed.join(', ')}, got "${raw}"`)
  return raw as T
}

/** HubSpot names a custom object by `2-<id>`, `p_<name>` or its fully-qualified `p<portal>_<name>`; base names stopped working in 2025. */
function objectReference(env: Env, name: string): string | null {
  const raw = text(env, name)
  if (raw === null) return null
  if (!/^(2-\d+|p\d*_[A-Za-z][A-Za-z0-9_]*)$/.test(raw))
    throw new ConfigError(
      name,
      `expected a custom object reference such as "2-1234567", "p_bookings" or "p12345_bookings", got "${raw}"`,
    )
  return raw
}

function duration(env: Env, name: string, fallback: string): number {
  const raw = text(env, name) ?? fallback
  const ms = parseDuration(raw)
  if (ms === null || ms <= 0) throw new ConfigError(name, `expected a duration such as "30s" or "500ms", got "${raw}"`)
  return ms
}

function url(env: Env, name: string, protocols: string[]): string | null {
  const raw = text(env, name)
  if (raw === null) return null
  let parsed: URL
  try {
    parsed = new URL(raw)
  } catch {
    throw new ConfigError(name, 'is not a valid URL')
  }
  if (!protocols.includes(parsed.protocol)) throw new ConfigError(name, `expected a ${protocols.join(' or ')} URL`)
  return raw
}

function poolMode(env: Env): 'session' | 'transaction' | null {
  const raw = text(env, 'DATABASE_POOL_MODE')
  if (raw === null) return null
  const mode = raw.toLowerCase()
  if (mode !== 'session' && mode !== 'transaction')
    throw new ConfigError('DATABASE_POOL_MODE', `expected "session" or "transaction", got "${raw}"`)
  return mode
}

/** The JWT secret comes from the environment, else from (or is generated into) the data dir. */
function jwtSecret(env: Env, dataDir: string): string {
  const fromEnv = text(env, 'HUBMIRROR_JWT_SECRET')
  if (fromEnv !== null) {
    if (Buffer.byteLength(fromEnv) < MIN_SECRET_BYTES)
      throw new ConfigError('HUBMIRROR_JWT_SECRET', `must be at least ${MIN_SECRET_BYTES} bytes`)
    return fromEnv
  }
  const file = join(dataDir, 'jwt-secret')
  if (!existsSync(file)) {
    makePrivateDir(dataDir)
    createSecretFile(file)
  }
  return readSecretFile(file)
}

/**
 * Written under a temporary name with mode 0600 and then hard-linked into place: the file appears
 * whole and private, or not at all, and two processes starting together end up with one secret.
 */
function createSecretFile(file: string): void {
  const temporary = `${file}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`
  const fd = openSync(temporary, 'wx', 0o600)
  try {
    writeSync(fd, randomBytes(32).toString('base64url') + '\n')
  } finally {
    closeSync(fd)
  }
  try {
    linkSync(temporary, file)
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error
  } finally {
    unlinkSync(temporary)
  }
}

/** An existing secret file is used only if it is private and long enough to key an HMAC. */
function readSecretFile(file: string): string {
  const variable = 'HUBMIRROR_DATA_DIR'
  const mode = statSync(file).mode
  if (process.platform !== 'win32' && (mode & 0o077) !== 0)
    throw new ConfigError(
      variable,
      `${file} is readable by other users (mode ${(mode & 0o777).toString(8)}): run chmod 600 on it, or set HUBMIRROR_JWT_SECRET`,
    )
  const secret = readFileSync(file, 'utf8').trim()
  if (Buffer.byteLength(secret) < MIN_SECRET_BYTES)
    throw new ConfigError(
      variable,
      `${file} holds ${Buffer.byteLength(secret)} bytes, fewer than the ${MIN_SECRET_BYTES} an HS256 secret needs: delete it to have a new one generated, or set HUBMIRROR_JWT_SECRET`,
    )
  return secret
}

/**
 * SUPABASE_URL gives the JWKS, issuer and audience of a Supabase project's Auth; HUBMIRROR_JWKS_URL,
 * HUBMIRROR_JWT_ISSUER and HUBMIRROR_JWT_AUDIENCE set them for any other issuer (or override).
 */
function jwtSettings(env: Env): { jwks: JwksConfig | null; claims: Config['jwtClaims'] } {
  const supabase = url(env, 'SUPABASE_URL', ['http:', 'https:'])?.replace(/\/+$/, '') ?? null
  const jwksUrl =
    url(env, 'HUBMIRROR_JWKS_URL', ['http:', 'https:']) ??
    (supabase ? `${supabase}/auth/v1/.well-known/jwks.json` : null)
  const issuer = text(env, 'HUBMIRROR_JWT_ISSUER') ?? (supabase ? `${supabase}/auth/v1` : null)
  const audience = text(env, 'HUBMIRROR_JWT_AUDIENCE')
  if (jwksUrl !== null && !supabase) {
    // A JWKS alone proves who signed, not for whom: another issuer's tokens must be pinned down.
    if (issuer === null) throw new ConfigError('HUBMIRROR_JWT_ISSUER', 'is required with HUBMIRROR_JWKS_URL')
    if (audience === null) throw new ConfigError('HUBMIRROR_JWT_AUDIENCE', 'is required with HUBMIRROR_JWKS_URL')
  }
  const claims = { issuer, audience: audience ?? SUPABASE_AUDIENCE }
  return { jwks: jwksUrl !== null && issuer !== null ? { url: jwksUrl, ...claims, issuer } : null, claims }
}

/** HUBMIRROR_METRICS_PORT turns the separate listener on; HUBMIRROR_METRICS_HOST alone says nothing to listen on. */
function metricsListen(env: Env): Config['metricsListen'] {
  const host = text(env, 'HUBMIRROR_METRICS_HOST')
  if (text(env, 'HUBMIRROR_METRICS_PORT') === null) {
    if (host !== null) throw new ConfigError('HUBMIRROR_METRICS_PORT', 'is required with HUBMIRROR_METRICS_HOST')
    return null
  }
  const port = integer(env, 'HUBMIRROR_METRICS_PORT', 0)
  if (port > 65_535) throw new ConfigError('HUBMIRROR_METRICS_PORT', `expected a port from 0 to 65535, got ${port}`)
  return { host: host ?? '127.0.0.1', port }
}

export function loadConfig(env: Env = process.env): Config {
  const dataDir = resolve(text(env, 'HUBMIRROR_DATA_DIR') ?? './.hubmirror')
  if (existsSync(dataDir) && isSharedFolder(lstatSync(dataDir)))
    throw new ConfigError('HUBMIRROR_DATA_DIR', `${dataDir} is a shared folder (like /tmp): set a folder of its own`)
  const jwt = jwtSettings(env)
  return {
    port: integer(env, 'PORT', 3000),
    host: text(env, 'HOST') ?? '127.0.0.1',
    dataDir,
    databaseUrl: url(env, 'DATABASE_URL', ['postgres:', 'postgresql:']),
    databaseDirectUrl: url(env, 'DATABASE_DIRECT_URL', ['postgres:', 'postgresql:']),
    databasePoolMode: poolMode(env),
    redisUrl: url(env, 'REDIS_URL', ['redis:', 'rediss:']),
    redisNamespace: text(env, 'HUBMIRROR_REDIS_NAMESPACE') ?? 'hm',
    hubspot: {
      accessToken: text(env, 'HUBSPOT_ACCESS_TOKEN'),
      baseUrl: url(env, 'HUBSPOT_BASE_URL', ['http:', 'https:']),
      mockExamsObject: objectReference(env, 'HUBSPOT_MOCK_EXAMS_OBJECT'),
      bookingsObject: objectReference(env, 'HUBSPOT_BOOKINGS_OBJECT'),
      apiVersion: oneOf(env, 'HUBSPOT_API_VERSION', HUBSPOT_API_VERSIONS, '2026-03'),
      rateLimit10s: integer(env, 'HUBSPOT_RATE_LIMIT_10S', 190, 1),
      searchRatePerSecond: integer(env, 'HUBSPOT_SEARCH_RATE_S', 5, 1),
      dailyLimit: integer(env, 'HUBSPOT_DAILY_LIMIT', 1_000_000, 1),
    },
    jwtSecret: jwtSecret(env, dataDir),
    jwks: jwt.jwks,
    jwtClaims: jwt.claims,
    syncStaleAfterMs: duration(env, 'SYNC_STALE_AFTER', '30s'),
    syncLiveIntervalMs: duration(env, 'SYNC_LIVE_INTERVAL', '10s'),
    eventRetentionMs: duration(env, 'HUBMIRROR_EVENT_RETENTION', '7d'),
    logLevel: text(env, 'LOG_LEVEL') ?? 'info',
    bodyLimitBytes: integer(env, 'HUBMIRROR_BODY_LIMIT', 256 * 1024, 1024),
    limits: {
      maxStreamsPerSubject: integer(env, 'HUBMIRROR_MAX_STREAMS_PER_SUBJECT', 32, 1),
      maxStreams: integer(env, 'HUBMIRROR_MAX_STREAMS', 10_000, 1),
      publicStreamsPerIp: integer(env, 'HUBMIRROR_PUBLIC_STREAMS_PER_IP', 8, 1),
      publicStreams: integer(env, 'HUBMIRROR_PUBLIC_STREAMS', 10_000, 1),
      streamBacklogBytes: integer(env, 'HUBMIRROR_STREAM_BACKLOG_BYTES', 4 * 1024 * 1024, 64 * 1024),
      graphqlMaxCost: integer(env, 'HUBMIRROR_GRAPHQL_MAX_COST', 2_000, 1),
      graphqlMaxFields: integer(env, 'HUBMIRROR_GRAPHQL_MAX_FIELDS', 500, 1),
      graphqlMaxAliases: integer(env, 'HUBMIRROR_GRAPHQL_MAX_ALIASES', 30, 0),
      graphqlMaxSubscriptions: integer(env, 'HUBMIRROR_GRAPHQL_MAX_SUBSCRIPTIONS', 20, 1),
      graphqlIntrospection: boolean(env, 'HUBMIRROR_GRAPHQL_INTROSPECTION', text(env, 'NODE_ENV') === 'development'),
      maxQueuedPullsPerCaller: integer(env, 'HUBMIRROR_MAX_QUEUED_PULLS', 4, 1),
    },
    metricsListen: metricsListen(env),
  }
}

// Reads and validates the environment into one typed Config, filling in the embedded defaults.
import { randomBytes } from 'node:crypto'
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { resolve, join } from 'node:path'
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
    rateLimit10s: number
    searchRatePerSecond: number
    dailyLimit: number
  }
  jwtSecret: string
  syncStaleAfterMs: number
  syncLiveIntervalMs: number
  /** How long the change log keeps events; older realtime cursors are told to refetch. */
  eventRetentionMs: number
  logLevel: string
  bodyLimitBytes: number
}

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
    if (fromEnv.length < 16) throw new ConfigError('HUBMIRROR_JWT_SECRET', 'must be at least 16 characters')
    return fromEnv
  }
  const file = join(dataDir, 'jwt-secret')
  if (existsSync(file)) return readFileSync(file, 'utf8').trim()
  mkdirSync(dataDir, { recursive: true })
  const secret = randomBytes(32).toString('base64url')
  writeFileSync(file, secret + '\n', { mode: 0o600 })
  return secret
}

export function loadConfig(env: Env = process.env): Config {
  const dataDir = resolve(text(env, 'HUBMIRROR_DATA_DIR') ?? './.hubmirror')
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
      mockExamsObject: text(env, 'HUBSPOT_MOCK_EXAMS_OBJECT'),
      bookingsObject: text(env, 'HUBSPOT_BOOKINGS_OBJECT'),
      rateLimit10s: integer(env, 'HUBSPOT_RATE_LIMIT_10S', 190, 1),
      searchRatePerSecond: integer(env, 'HUBSPOT_SEARCH_RATE_S', 5, 1),
      dailyLimit: integer(env, 'HUBSPOT_DAILY_LIMIT', 1_000_000, 1),
    },
    jwtSecret: jwtSecret(env, dataDir),
    syncStaleAfterMs: duration(env, 'SYNC_STALE_AFTER', '30s'),
    syncLiveIntervalMs: duration(env, 'SYNC_LIVE_INTERVAL', '10s'),
    eventRetentionMs: duration(env, 'HUBMIRROR_EVENT_RETENTION', '7d'),
    logLevel: text(env, 'LOG_LEVEL') ?? 'info',
    bodyLimitBytes: integer(env, 'HUBMIRROR_BODY_LIMIT', 256 * 1024, 1024),
  }
}

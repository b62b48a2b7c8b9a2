// Test environments: a fresh database (real Postgres when DATABASE_URL is set, else PGlite) and config.
import { randomBytes } from 'node:crypto'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import pg from 'pg'
import { loadConfig, type Config } from '../../src/config/index.js'
import { RUN_PREFIX_VARIABLE } from './run-redis-keys.js'

export const realPostgres = Boolean(process.env.DATABASE_URL)
export const realRedis = Boolean(process.env.REDIS_URL)

export interface TestDatabase {
  /** null: embedded PGlite */
  url: string | null
  drop(): Promise<void>
}

/**
 * A database of its own for one test file, so that files can run in parallel. The tests reach it
 * through DATABASE_URL (perhaps a pooler: CI runs the suite through PgBouncer in transaction mode);
 * CREATE and DROP DATABASE go to TEST_DATABASE_ADMIN_URL, the real server, when that is set, since
 * a pooler keeps server connections to the database open and may not pass them on at all.
 */
export async function freshDatabase(): Promise<TestDatabase> {
  const base = process.env.DATABASE_URL
  if (!base) return { url: null, async drop() {} }
  const adminUrl = process.env.TEST_DATABASE_ADMIN_URL || base
  const name = `hm_test_${process.pid}_${randomBytes(4).toString('hex')}`
  const admin = new pg.Client({ connectionString: adminUrl })
  await admin.connect()
  await admin.query(`CREATE DATABASE ${name}`)
  await admin.end()
  const url = new URL(base)
  url.pathname = `/${name}`
  return {
    url: url.toString(),
    async drop() {
      const client = new pg.Client({ connectionString: adminUrl })
      await client.connect()
      await client.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`).catch(() => undefined)
      await client.end()
    },
  }
}

export interface TestConfigOptions {
  databaseUrl?: string | null
  /** false: no Redis even when REDIS_URL is set */
  redis?: boolean
  redisNamespace?: string
  env?: Record<string, string>
}

export function tempDir(prefix = 'hubmirror-test-'): { path: string; remove(): void } {
  const path = mkdtempSync(join(tmpdir(), prefix))
  return { path, remove: () => rmSync(path, { recursive: true, force: true }) }
}

/**
 * A Redis namespace of this test run's own (`<run prefix>-<label>-<random>`): the run's global setup
 * (run-redis-keys.ts) drops every key under its prefix at the end.
 */
export function testNamespace(label = 'ns'): string {
  return `${process.env[RUN_PREFIX_VARIABLE] ?? 'hmtest'}-${label}-${randomBytes(4).toString('hex')}`
}

export function testConfig(options: TestConfigOptions = {}): Config {
  const dataDir = tempDir().path
  return loadConfig({
    HUBMIRROR_DATA_DIR: dataDir,
    HUBMIRROR_JWT_SECRET: 'test-secret-test-secret-test-secret',
    PORT: '0',
    LOG_LEVEL: 'silent',
    ...(options.databaseUrl ? { DATABASE_URL: options.databaseUrl } : {}),
    ...(options.redis !== false && process.env.REDIS_URL ? { REDIS_URL: process.env.REDIS_URL } : {}),
    HUBMIRROR_REDIS_NAMESPACE: options.redisNamespace ?? testNamespace(),
    // CI runs the suite once per HubSpot path family (the default 2026-03, then v3).
    ...(process.env.HUBSPOT_API_VERSION ? { HUBSPOT_API_VERSION: process.env.HUBSPOT_API_VERSION } : {}),
    ...options.env,
  })
}

// The record a running `hubmirror serve` keeps in its data dir, so the CLI beside it can find it and its emulator.
import { randomBytes } from 'node:crypto'
import { readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { makePrivateDir, PRIVATE_FILE_MODE } from '../config/data-dir.js'
import type { Config } from '../config/index.js'

const FILE = 'server.json'

export interface ServerRecord {
  pid: number
  /** Where the API listens, e.g. http://127.0.0.1:3000. */
  url: string
  /** The in-process emulator's URL; null when the server talks to real HubSpot. */
  emulator_url: string | null
  /** The bearer the in-process emulator accepts (random per start); null with real HubSpot. */
  emulator_token: string | null
  /** True when the server holds the embedded PGlite database, which only one process may open. */
  embedded_database: boolean
  started_at: string
}

export function serverRecordPath(dataDir: string): string {
  return join(dataDir, FILE)
}

/**
 * It holds the emulator's token, so it is 0600 on every write, not only when first created: written
 * under a fresh name with that mode and renamed over the old one, whatever mode the old one had.
 */
export function writeServerRecord(dataDir: string, record: ServerRecord): void {
  makePrivateDir(dataDir)
  const file = serverRecordPath(dataDir)
  const temporary = `${file}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`
  writeFileSync(temporary, JSON.stringify(record, null, 2) + '\n', { mode: PRIVATE_FILE_MODE, flag: 'wx' })
  renameSync(temporary, file)
}

/** Removes the record only if it is still this process's (a second server may have replaced it). */
export function removeServerRecord(dataDir: string, pid = process.pid): void {
  const record = readRecord(dataDir)
  if (record && record.pid === pid) rmSync(serverRecordPath(dataDir), { force: true })
}

function readRecord(dataDir: string): ServerRecord | null {
  try {
    const value = JSON.parse(readFileSync(serverRecordPath(dataDir), 'utf8')) as Partial<ServerRecord>
    if (typeof value.pid !== 'number' || typeof value.url !== 'string') return null
    return {
      pid: value.pid,
      url: value.url,
      emulator_url: typeof value.emulator_url === 'string' ? value.emulator_url : null,
      emulator_token: typeof value.emulator_token === 'string' ? value.emulator_token : null,
      embedded_database: value.embedded_database === true,
      started_at: typeof value.started_at === 'string' ? value.started_at : '',
    }
  } catch {
    return null
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch (error) {
    // EPERM: it exists, it is just not ours to signal.
    return (error as NodeJS.ErrnoException).code === 'EPERM'
  }
}

/** The server running on this data dir: its record, if its process lives and it answers /healthz. */
export async function findRunningServer(dataDir: string): Promise<ServerRecord | null> {
  const record = readRecord(dataDir)
  if (!record || !alive(record.pid)) return null
  try {
    const res = await fetch(`${record.url}/healthz`, { signal: AbortSignal.timeout(2_000) })
    return res.ok ? record : null
  } catch {
    return null
  }
}

/** PGlite is one process's database: a second opener would corrupt it. */
export async function refuseWhileServerHoldsEmbeddedDb(config: Config, command: string): Promise<void> {
  if (config.databaseUrl) return
  const server = await findRunningServer(config.dataDir)
  if (server?.embedded_database)
    throw new Error(
      `the server running at ${server.url} (pid ${server.pid}) holds the embedded database in ${config.dataDir}; ` +
        `stop it first, or run \`hubmirror ${command}\` with DATABASE_URL pointing at a shared Postgres`,
    )
}

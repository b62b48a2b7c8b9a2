// `hubmirror history <id>`: a record's timeline (every change, newest first, who made it), from the replica or the running server.
import { loadConfig, type Config } from '../config/index.js'
import { issueToken } from '../http/jwt.js'
import type { HistoryEntry, ObjectKind } from '../model/records.js'
import { openReplica, readHistory, type HistoryPage } from '../replica/index.js'
import { booleanFlag, stringFlag, UsageError, type ParsedArgs } from './args.js'
import { findRunningServer } from './running-server.js'

const DEFAULT_LIMIT = 50
const MAX_LIMIT = 500

export async function historyCommand(args: ParsedArgs): Promise<number> {
  const id = args.positional[0]
  if (!id || !/^\d{1,20}$/.test(id)) throw new UsageError('give the HubSpot id of a booking (or, with --exam, an exam)')
  const kind: ObjectKind = booleanFlag(args, 'exam') ? 'exam' : 'booking'
  const rawLimit = stringFlag(args, 'limit')
  const limit = rawLimit === undefined ? DEFAULT_LIMIT : Number(rawLimit)
  if (!Number.isInteger(limit) || limit < 1 || limit > MAX_LIMIT)
    throw new UsageError(`--limit must be a whole number from 1 to ${MAX_LIMIT}`)
  const config = loadConfig()
  const page = await fetchHistory(config, kind, id, limit)
  if (!page) {
    console.error(`history: no ${kind} ${id} in the replica`)
    return 1
  }
  if (booleanFlag(args, 'json')) console.log(JSON.stringify({ history: page.entries, next_cursor: page.next_cursor }))
  else {
    for (const entry of page.entries) console.log(describeEntry(entry))
    if (page.next_cursor) console.log(`… older changes: --limit ${Math.min(MAX_LIMIT, limit * 2)}`)
  }
  return 0
}

/**
 * The embedded database is one process's: beside a server holding it, the server is asked over
 * HTTP (a short-lived token signed by the data dir's secret); otherwise the replica is read directly.
 */
async function fetchHistory(config: Config, kind: ObjectKind, id: string, limit: number): Promise<HistoryPage | null> {
  const server = config.databaseUrl ? null : await findRunningServer(config.dataDir)
  if (server?.embedded_database) {
    const token = issueToken(config.jwtSecret, ['exams.view'], { subject: 'cli', ttlSeconds: 5 * 60 })
    const path = `/api/${kind === 'exam' ? 'mock-exams' : 'bookings'}/${id}/history?limit=${limit}`
    const res = await fetch(server.url + path, { headers: { authorization: `Bearer ${token}` } })
    if (res.status === 404) return null
    const body = (await res.json()) as {
      history?: HistoryEntry[]
      next_cursor?: string | null
      error?: { message: string }
    }
    if (!res.ok || !body.history) throw new Error(`${server.url}${path}: ${res.status} ${body.error?.message ?? ''}`)
    return { entries: body.history, next_cursor: body.next_cursor ?? null }
  }
  const db = await openReplica(config)
  try {
    return await readHistory(db, kind, id, { limit })
  } finally {
    await db.close()
  }
}

/** One line per change: when, who, what (field: old → new). */
export function describeEntry(entry: HistoryEntry): string {
  const fields = entry.changes
    ? Object.entries(entry.changes)
        .map(([field, [before, after]]) => `${field}: ${show(before)} → ${show(after)}`)
        .join(', ')
    : '(fields not recorded: logged before field-level history)'
  return `${entry.at}  #${entry.seq}  ${entry.op === 'delete' ? 'deleted' : 'changed'} by ${who(entry)}  ${fields || '(no field changed)'}`
}

function who(entry: HistoryEntry): string {
  const origin = entry.origin
  if (!origin) return entry.source
  if (origin.kind === 'hubmirror') return `hubmirror (${origin.subject ?? 'unknown subject'})`
  const parts = [
    origin.source,
    origin.user_id && `user ${origin.user_id}`,
    origin.source_id && `source ${origin.source_id}`,
  ]
  return `HubSpot${parts.some(Boolean) ? ` (${parts.filter(Boolean).join(', ')})` : ''}`
}

function show(value: unknown): string {
  return value === null || value === undefined ? '∅' : JSON.stringify(value)
}

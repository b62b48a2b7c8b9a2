// `hubmirror backfill | sync | reconcile`: the sync engine run once, against the configured HubSpot or through the running server.
import { ConfigError, loadConfig, type Config } from '../config/index.js'
import { issueToken } from '../http/jwt.js'
import { createLogger } from '../logger.js'
import type { z } from 'zod'
import type { pullDone, pullRunning, reconcileBody, statusBody } from '../model/contract/sync.js'
import { createProgress, SYNC_TYPES, type DriftReport, type PullResult, type SyncEngine } from '../sync/index.js'
import { openSyncParts } from '../sync-parts.js'
import { booleanFlag, UsageError, type ParsedArgs } from './args.js'
import { findRunningServer, serverRecordPath, type ServerRecord } from './running-server.js'

/** Where the CLI's sync work goes: its own engine against a HubSpot, or the server that holds the embedded database. */
export type SyncTarget =
  { kind: 'engine'; baseUrl: string; accessToken: string; via: string } | { kind: 'server'; server: ServerRecord }

/**
 * In order: HUBSPOT_ACCESS_TOKEN (real HubSpot), HUBSPOT_BASE_URL (an emulator), then a server
 * running on this data dir (`npm start`). That server holds the embedded PGlite database, which
 * a second process must not open, so the CLI asks it over HTTP; with a shared DATABASE_URL the
 * CLI runs its own engine against the emulator URL the server recorded. Nothing found: say
 * exactly what to set.
 */
export async function resolveSyncTarget(config: Config): Promise<SyncTarget> {
  const server = config.databaseUrl && config.hubspot.accessToken ? null : await findRunningServer(config.dataDir)
  if (server && !config.databaseUrl && server.embedded_database) return { kind: 'server', server }
  if (config.hubspot.accessToken)
    return {
      kind: 'engine',
      baseUrl: config.hubspot.baseUrl ?? 'https://api.hubapi.com',
      accessToken: config.hubspot.accessToken,
      via: 'HUBSPOT_ACCESS_TOKEN',
    }
  if (config.hubspot.baseUrl)
    return { kind: 'engine', baseUrl: config.hubspot.baseUrl, accessToken: 'emulator', via: 'HUBSPOT_BASE_URL' }
  if (server?.emulator_url)
    return {
      kind: 'engine',
      baseUrl: server.emulator_url,
      // The server's emulator takes only its own random token (an older server's record has none).
      accessToken: server.emulator_token ?? 'emulator',
      via: `the emulator of the server at ${server.url}`,
    }
  throw new ConfigError(
    'HUBSPOT_ACCESS_TOKEN',
    `not set, and no hubmirror server is running on ${config.dataDir} (no live ${serverRecordPath(config.dataDir)}). ` +
      'Either start the service in another terminal (`npm start`) and run this again from the same directory, ' +
      'or set HUBSPOT_ACCESS_TOKEN (a private-app token) for real HubSpot, ' +
      'or HUBSPOT_BASE_URL=http://127.0.0.1:4000 for an emulator started with `hubmirror emulator --port 4000 --seed demo`.',
  )
}

type PullBody = z.output<typeof pullDone> | z.output<typeof pullRunning>

/** Calls the running server with a short-lived token signed by the data dir's secret; its error envelope becomes the message. */
async function callServer<T>(
  config: Config,
  server: ServerRecord,
  method: string,
  path: string,
  body?: unknown,
): Promise<T> {
  const token = issueToken(config.jwtSecret, ['exams.view', 'sync.run'], { subject: 'cli', ttlSeconds: 15 * 60 })
  const res = await fetch(`${server.url}${path}`, {
    method,
    headers: {
      authorization: `Bearer ${token}`,
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
    },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  })
  const parsed = (await res.json().catch(() => null)) as {
    success?: boolean
    error?: { code?: string; message?: string }
  } | null
  if (!res.ok || !parsed?.success)
    throw new Error(
      `the server at ${server.url} answered ${res.status}${parsed?.error ? ` ${parsed.error.code}: ${parsed.error.message}` : ''}`,
    )
  return parsed as T
}

async function withEngine<T>(
  target: Extract<SyncTarget, { kind: 'engine' }>,
  config: Config,
  fn: (sync: SyncEngine) => Promise<T>,
): Promise<T> {
  // Progress and results go to the terminal; the log only carries warnings unless LOG_LEVEL says otherwise.
  const logger = createLogger(process.env.LOG_LEVEL ?? 'warn', process.stderr)
  // The server's wiring, without what only a server needs (reads, realtime, HTTP, the write path's start).
  const parts = await openSyncParts({
    config,
    logger,
    hubspot: { baseUrl: target.baseUrl, accessToken: target.accessToken },
  })
  try {
    return await fn(parts.sync!)
  } finally {
    await parts.close()
  }
}

function note(target: SyncTarget): void {
  if (target.kind === 'server')
    process.stderr.write(`using the server running at ${target.server.url} (it holds the embedded database)\n`)
  else if (target.via.startsWith('the emulator')) process.stderr.write(`using ${target.via}: ${target.baseUrl}\n`)
}

export async function backfillCommand(args: ParsedArgs): Promise<number> {
  const config = loadConfig()
  const target = await resolveSyncTarget(config)
  note(target)
  const json = booleanFlag(args, 'json')
  if (target.kind === 'server') {
    // The server backfills before it listens, so a server that answers has a complete backfill.
    if (booleanFlag(args, 'restart'))
      throw new UsageError(
        `--restart reloads the embedded database, which the server at ${target.server.url} holds: stop it, then run \`hubmirror backfill --restart\``,
      )
    const { status } = await callServer<z.output<typeof statusBody>>(config, target.server, 'GET', '/api/sync/status')
    const complete = SYNC_TYPES.every((type) => status.objects[type].cursor !== null)
    if (json) console.log(JSON.stringify({ ran: false, complete, server: target.server.url }))
    else
      console.log(
        complete
          ? `backfill: already complete on the server at ${target.server.url} (${status.objects.exams.rows} exams, ${status.objects.bookings.rows} bookings); \`hubmirror sync\` pulls changes`
          : `backfill: the server at ${target.server.url} has not finished its backfill yet; follow it in its log`,
      )
    return complete ? 0 : 1
  }
  return withEngine(target, config, async (sync) => {
    const result = await sync.backfill({
      restart: booleanFlag(args, 'restart'),
      progress: createProgress({ embeddedReplica: config.databaseUrl === null }),
    })
    if (json) console.log(JSON.stringify(result))
    else if (!result.ran)
      console.log(
        'backfill: already complete (`hubmirror sync` pulls changes; `backfill --restart` loads everything again)',
      )
    return 0
  })
}

export async function syncCommand(args: ParsedArgs): Promise<number> {
  const config = loadConfig()
  const target = await resolveSyncTarget(config)
  note(target)
  const json = booleanFlag(args, 'json')
  if (target.kind === 'server') {
    const answer = await callServer<PullBody>(config, target.server, 'POST', '/api/sync/pull', {})
    if (!answer.completed) {
      if (json) console.log(JSON.stringify(answer))
      else console.log(`the pull is still running on the server at ${target.server.url}; its sync status shows the end`)
      return 0
    }
    if (json) console.log(JSON.stringify(answer.result))
    else console.log(describePull(answer.result))
    return answer.result.started ? 0 : 1
  }
  return withEngine(target, config, async (sync) => {
    const backfilled = await sync.isBackfilled()
    const result = backfilled ? await sync.pull({ reason: 'cli' }) : await backfillFirst(sync, config)
    if (json) console.log(JSON.stringify(result))
    else console.log(describePull(result))
    return result.started ? 0 : 1
  })
}

async function backfillFirst(sync: SyncEngine, config: Config): Promise<PullResult> {
  console.error('no backfill yet: backfilling first')
  const result = await sync.backfill({ progress: createProgress({ embeddedReplica: config.databaseUrl === null }) })
  return (
    result.catchUp ?? {
      started: true,
      kind: 'backfill',
      reason: 'cli',
      objects: {},
      ms: result.ms,
      calls: result.calls,
    }
  )
}

export async function reconcileCommand(args: ParsedArgs): Promise<number> {
  const config = loadConfig()
  const target = await resolveSyncTarget(config)
  note(target)
  const fix = booleanFlag(args, 'fix')
  const report =
    target.kind === 'server'
      ? (
          await callServer<z.output<typeof reconcileBody>>(config, target.server, 'POST', '/api/sync/reconcile', {
            fix,
          })
        ).report
      : await withEngine(target, config, (sync) => sync.reconcile({ fix }))
  if (booleanFlag(args, 'json')) console.log(JSON.stringify(report))
  else console.log(describeDrift(report))
  const drift = report.missing_in_replica + report.extra_in_replica + report.stale_in_replica
  // Like diff(1): 1 means "differences found", so a script can act on it.
  return drift > 0 && !fix ? 1 : 0
}

function describePull(result: PullResult): string {
  if (!result.started)
    return `pull skipped: ${result.skipped === 'busy' ? 'another instance is pulling' : result.skipped}`
  const parts = SYNC_TYPES.filter((type) => result.objects[type]).map((type) => {
    const r = result.objects[type]!
    return `${type}: ${r.fetched} read, ${r.changed} changed, ${r.deleted} deleted${r.cursor ? ` (cursor ${r.cursor})` : ''}`
  })
  return `${result.kind} pull in ${result.ms} ms, ${result.calls} HubSpot calls\n  ${parts.join('\n  ')}`
}

function describeDrift(report: DriftReport): string {
  const lines = [`reconcile at ${report.checked_at}: ${report.calls} HubSpot calls, ${report.ms} ms`]
  for (const type of SYNC_TYPES) {
    const d = report.objects[type]
    lines.push(
      `  ${type.padEnd(8)} HubSpot ${d.hubspot_rows}, replica ${d.replica_rows}: ${d.missing_in_replica} missing, ${d.extra_in_replica} extra, ${d.stale_in_replica} stale`,
    )
    for (const kind of ['missing', 'extra', 'stale'] as const)
      if (d.samples[kind].length)
        lines.push(`    ${kind}: ${d.samples[kind].join(', ')}${d.samples[kind].length === 20 ? ', …' : ''}`)
  }
  const drift = report.missing_in_replica + report.extra_in_replica + report.stale_in_replica
  lines.push(
    drift === 0
      ? '  no drift'
      : report.fixed
        ? `  fixed ${report.fixed} rows`
        : '  run `hubmirror reconcile --fix` to repair',
  )
  return lines.join('\n')
}

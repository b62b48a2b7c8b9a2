// `hubmirror backfill | sync | reconcile`: the sync engine run once from the command line, against the configured HubSpot.
import { WriteService } from '../bookings/write-service.js'
import { openCache } from '../cache/index.js'
import { ConfigError, loadConfig, type Config } from '../config/index.js'
import { createHubSpot } from '../hubspot/index.js'
import { createLogger } from '../logger.js'
import { migrate, openReplica } from '../replica/index.js'
import {
  createProgress,
  createSyncEngine,
  SYNC_TYPES,
  type DriftReport,
  type PullResult,
  type SyncEngine,
} from '../sync/index.js'
import { parseArgs } from './args.js'

/** Real HubSpot with a token; an emulator by URL without one; otherwise say what to set. */
export function remoteHubSpot(config: Config): { baseUrl: string; accessToken: string } {
  if (config.hubspot.accessToken)
    return { baseUrl: config.hubspot.baseUrl ?? 'https://api.hubapi.com', accessToken: config.hubspot.accessToken }
  if (config.hubspot.baseUrl) return { baseUrl: config.hubspot.baseUrl, accessToken: 'emulator' }
  throw new ConfigError(
    'HUBSPOT_ACCESS_TOKEN',
    'not set. Set HUBSPOT_ACCESS_TOKEN (a private-app token) to sync real HubSpot, or HUBSPOT_BASE_URL to sync an emulator ' +
      '(start one with `hubmirror emulator --port 4000 --seed demo`, then HUBSPOT_BASE_URL=http://127.0.0.1:4000)',
  )
}

async function withEngine<T>(fn: (sync: SyncEngine) => Promise<T>): Promise<T> {
  const config = loadConfig()
  const remote = remoteHubSpot(config)
  // Progress and results go to the terminal; the log only carries warnings unless LOG_LEVEL says otherwise.
  const logger = createLogger(process.env.LOG_LEVEL ?? 'warn', process.stderr)
  const db = await openReplica(config)
  const cache = openCache(config)
  const hubspot = createHubSpot(config, remote)
  let sync: SyncEngine | null = null
  try {
    await migrate(db)
    const writes = new WriteService({ db, hubspot, cache, logger })
    sync = createSyncEngine({
      db,
      hubspot,
      cache,
      logger,
      config,
      beforePull: async () => void (await writes.recovery.resolvePending()),
    })
    return await fn(sync)
  } finally {
    await sync?.stop()
    await hubspot.close()
    await cache.close()
    await db.close()
  }
}

export async function backfillCommand(argv: string[]): Promise<number> {
  const args = parseArgs(argv, ['restart', 'json'])
  return withEngine(async (sync) => {
    const result = await sync.backfill({ restart: args.flags.has('restart'), progress: createProgress() })
    if (args.flags.has('json')) console.log(JSON.stringify(result))
    else if (!result.ran)
      console.log(
        'backfill: already complete (`hubmirror sync` pulls changes; `backfill --restart` loads everything again)',
      )
    return 0
  })
}

export async function syncCommand(argv: string[]): Promise<number> {
  const args = parseArgs(argv, ['json'])
  return withEngine(async (sync) => {
    const backfilled = await sync.isBackfilled()
    const result = backfilled ? await sync.pull({ reason: 'cli' }) : await backfillFirst(sync)
    if (args.flags.has('json')) console.log(JSON.stringify(result))
    else console.log(describePull(result))
    return result.started ? 0 : 1
  })
}

async function backfillFirst(sync: SyncEngine): Promise<PullResult> {
  console.error('no backfill yet: backfilling first')
  const result = await sync.backfill({ progress: createProgress() })
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

export async function reconcileCommand(argv: string[]): Promise<number> {
  const args = parseArgs(argv, ['fix', 'json'])
  return withEngine(async (sync) => {
    const report = await sync.reconcile({ fix: args.flags.has('fix') })
    if (args.flags.has('json')) console.log(JSON.stringify(report))
    else console.log(describeDrift(report))
    const drift = report.missing_in_replica + report.extra_in_replica + report.stale_in_replica
    // Like diff(1): 1 means "differences found", so a script can act on it.
    return drift > 0 && !args.flags.has('fix') ? 1 : 0
  })
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

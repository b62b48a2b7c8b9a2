// The composition root: opens the replica and cache, builds every part and the HTTP server over them.
import type { FastifyInstance } from 'fastify'
import { Gauge, type Registry } from 'prom-client'
import { ReadService } from './bookings/read-service.js'
import type { WriteService } from './bookings/write-service.js'
import type { ResponseCache } from './cache/index.js'
import type { Config } from './config/index.js'
import { runDoctor } from './doctor/index.js'
import { startMetricsListener, type MetricsListener } from './http/metrics-listener.js'
import { registerAuthRoutes } from './http/routes-auth.js'
import { registerDoctorRoutes } from './http/routes-doctor.js'
import { SignInCodes } from './http/sign-in-codes.js'
import { registerRealtimeRoutes } from './http/routes-realtime.js'
import { registerSyncRoutes } from './http/routes-sync.js'
import { registerWriteRoutes } from './http/routes-writes.js'
import { buildHttpServer } from './http/server.js'
import { createClientLimits } from './http/client-limits.js'
import { counterFrom, createMetricsRegistry, gaugeFrom } from './http/metrics.js'
import { PRIORITIES, type HubSpot, type HubSpotSettings } from './hubspot/index.js'
import { createLogger, type Logger } from './logger.js'
import { createRealtimeHub, type RealtimeHub, type RealtimeHubOptions } from './realtime/index.js'
import type { ReplicaDriver } from './replica/index.js'
import { openSyncParts } from './sync-parts.js'
import { createProgress, type SyncEngine } from './sync/index.js'

export interface AppOptions {
  config: Config
  logger?: Logger
  /** Embedded database in memory rather than under the data dir (tests). */
  inMemoryDb?: boolean
  /** null: do not serve the dashboard. */
  webDist?: string | null
  /** Where HubSpot (or the emulator) is; without it the app serves reads only. */
  hubspot?: HubSpotSettings
  /** Realtime tuning (tests shorten the heartbeat, or lengthen the safety poll; benchmarks set the fan-out chunk). */
  realtime?: Partial<Pick<RealtimeHubOptions, 'safetyPollMs' | 'heartbeatMs' | 'retentionMs' | 'fanoutChunk'>>
  /** The clock sign-in codes expire by (tests move it instead of waiting ten minutes). */
  signInClock?: () => number
}

export interface App {
  config: Config
  logger: Logger
  db: ReplicaDriver
  cache: ResponseCache
  reads: ReadService
  hubspot: HubSpot | null
  /** null when no HubSpot is configured (read-only). */
  writes: WriteService | null
  realtime: RealtimeHub
  /** null when no HubSpot is configured (read-only). */
  sync: SyncEngine | null
  http: FastifyInstance
  /** One-time codes for the printed sign-in link, exchanged at POST /api/auth/exchange. */
  signInCodes: SignInCodes
  /** Where the separate /metrics listener listens, once listen() started it; null without HUBMIRROR_METRICS_PORT. */
  metricsUrl(): string | null
  /** Starts background work (first-run backfill, watchers); serve calls it, tests may not. */
  start?(): Promise<void>
  /** Starts listening; resolves to the base URL. */
  listen(): Promise<string>
  close(): Promise<void>
}

/** The HubSpot budget per priority (writes, on-demand, background, bulk): who waits, who got slots, how long. */
function exportBudget(metrics: Registry, hubspot: HubSpot): void {
  gaugeFrom(
    metrics,
    'hubmirror_hubspot_budget_waiting',
    'HubSpot calls waiting for a rate-budget slot, by priority',
    () => hubspot.priorities().waiting,
    'priority',
  )
  const perPriority =
    (field: 'granted' | 'waitedMs' | 'heldBack', scale = 1) =>
    () => {
      const stats = hubspot.priorities()[field]
      return PRIORITIES.map((priority): [{ priority: string }, number] => [{ priority }, stats[priority] * scale])
    }
  counterFrom(
    metrics,
    'hubmirror_hubspot_budget_granted_total',
    'HubSpot rate-budget slots granted, by priority',
    ['priority'],
    perPriority('granted'),
  )
  counterFrom(
    metrics,
    'hubmirror_hubspot_budget_wait_seconds_total',
    'Time HubSpot calls waited for a slot, by priority',
    ['priority'],
    perPriority('waitedMs', 1 / 1000),
  )
  counterFrom(
    metrics,
    'hubmirror_hubspot_budget_held_back_total',
    'Times a wait for a slot was set aside for a more urgent caller (headroom left to higher priorities)',
    ['priority'],
    perPriority('heldBack'),
  )
  // usage() may be a Redis round trip: read at scrape time only.
  new Gauge({
    name: 'hubmirror_hubspot_budget_used',
    help: 'HubSpot budget used: the rolling 10 s window, search in the last second, today',
    labelNames: ['window'],
    registers: [metrics],
    async collect() {
      const usage = await hubspot.client.budget.usage().catch(() => null)
      if (!usage) return
      this.set({ window: '10s' }, usage.used_10s)
      this.set({ window: 'search_1s' }, usage.used_search_1s)
      this.set({ window: 'daily' }, usage.used_daily)
    },
  })
}

export async function createApp(options: AppOptions): Promise<App> {
  const { config } = options
  const logger = options.logger ?? createLogger(config.logLevel)
  const parts = await openSyncParts({ config, logger, inMemoryDb: options.inMemoryDb, hubspot: options.hubspot })
  const { db, cache, hubspot, writes, sync } = parts
  const reads = new ReadService({ db, cache, onRead: () => sync?.noteAccess() })
  const metrics = createMetricsRegistry()
  if (hubspot) exportBudget(metrics, hubspot)
  gaugeFrom(metrics, 'hubmirror_cache_lookups', 'Cache lookups by outcome', () => ({ ...cache.stats }))
  if (writes)
    gaugeFrom(
      metrics,
      'hubmirror_exam_counter_pending',
      'Exam total_bookings pushes to HubSpot owed by answered booking writes: queued, in flight or waiting to retry',
      () => writes.counter.pending(),
    )

  await writes?.start()
  const routes: Array<(app: FastifyInstance) => void | Promise<void>> = []
  const signInCodes = new SignInCodes({ now: options.signInClock })
  routes.push((app) => registerAuthRoutes(app, signInCodes, config.jwtSecret))
  if (writes) routes.push((app) => registerWriteRoutes(app, writes))
  const engine = sync
  if (engine) routes.push((app) => registerSyncRoutes(app, engine))
  const realtime = createRealtimeHub({ db, logger, retentionMs: config.eventRetentionMs, ...options.realtime })
  await realtime.start()
  gaugeFrom(
    metrics,
    'hubmirror_realtime',
    'Realtime hub: subscribers, watchers, events dispatched, LISTEN reconnects, catch-up overflows',
    () => {
      const { subscribers, watchers, dispatched, listenReconnects, overflows } = realtime.stats()
      return { subscribers, watchers, dispatched, listenReconnects, overflows }
    },
  )
  // The seed's WebSocket `sync_request`: a targeted pull of the exams the client watches.
  const onSyncRequest = engine
    ? (examIds: string[], caller: string) =>
        engine.pull({ examIds: examIds.length ? examIds : undefined, reason: 'demand', caller })
    : undefined
  const limits = createClientLimits(config.limits, metrics)
  routes.push((app) => registerRealtimeRoutes(app, realtime, { reads, onSyncRequest, ...limits }))
  routes.push((app) =>
    registerDoctorRoutes(app, () =>
      runDoctor({
        config,
        db,
        hubspot: options.hubspot
          ? { baseUrl: options.hubspot.baseUrl, accessToken: options.hubspot.accessToken }
          : null,
        budget: hubspot?.client.budget ?? null,
      }),
    ),
  )
  // While anyone watches, the sync engine pulls every SYNC_LIVE_INTERVAL; nobody watching, no timer.
  realtime.onWatchersChanged((count) => engine?.setWatchers(count))

  const http = await buildHttpServer({ config, logger, db, metrics, reads, routes, webDist: options.webDist })
  let metricsListener: MetricsListener | null = null

  return {
    config,
    logger,
    db,
    cache,
    reads,
    hubspot,
    writes,
    realtime,
    sync,
    http,
    signInCodes,
    metricsUrl: () => metricsListener?.url ?? null,
    /**
     * The first run backfills before the server listens (so the dashboard never opens on an empty
     * replica, and the log reads: backfill progress, then the URL). A big real account is better
     * loaded beforehand with `hubmirror backfill`, which resumes where this left off.
     */
    async start() {
      if (!engine || (await engine.isBackfilled())) return
      logger.info('first run: backfilling the replica from HubSpot')
      await engine.backfill({
        reason: 'start',
        progress: createProgress({
          tty: false,
          embeddedReplica: db.kind === 'pglite',
          log: (line, fields) => ('advice' in fields ? logger.warn(fields, line) : logger.info(fields, line)),
        }),
      })
    },
    async listen() {
      const url = await http.listen({ port: config.port, host: config.host })
      if (config.metricsListen) {
        metricsListener = await startMetricsListener(metrics, config.metricsListen)
        logger.info({ url: `${metricsListener.url}/metrics` }, 'metrics listener running (unauthenticated)')
      }
      return url
    },
    async close() {
      await metricsListener?.close()
      await http.close()
      await engine?.stop()
      await realtime.stop()
      await parts.close()
    },
  }
}

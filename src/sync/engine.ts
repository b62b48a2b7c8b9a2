// The sync engine: pulls, backfill, reconcile and force sync behind one cluster-wide lock, and the triggers that start pulls.
/*
 * States of one engine (one per server instance). "The lock" is the Postgres advisory lock
 * LOCKS.sync (in-process on PGlite), so across all instances at most one pull, backfill, force
 * sync or reconcile --fix writes at a time.
 *
 *   triggers (never a clock running on its own):
 *     demand   pull() from POST /api/sync/pull, the CLI, start-up
 *     access   noteAccess() from every read: replica older than SYNC_STALE_AFTER (in-memory check)
 *     watch    a timer that exists only while setWatchers(n > 0): every SYNC_LIVE_INTERVAL
 *
 *   ┌──────┐  trigger   ┌───────────┐  lock busy (here or elsewhere):
 *   │ idle │ ─────────► │ acquiring │ ──── access / watch ──────────────► idle, {started:false}
 *   └──────┘            └───────────┘ ──── demand: wait (poll), same-kind callers share one
 *      ▲                      │ lock held
 *      │                      ▼
 *      │              ┌────────────────┐   beforePull(): resolve pending write intents
 *      │              │ pulling        │   per type, concurrently: search window [cursor − look-back,
 *      │              │                │   bound fixed at start] → upsert page by page → archived
 *      │              │                │   listing → soft deletes → cursors = min(bound, newest seen)
 *      │              ├────────────────┤
 *      │              │ backfilling    │   (no cursor yet) see below, then a catch-up pull
 *      │              ├────────────────┤
 *      │              │ targeted/force │   exams by id + their bookings; cursors untouched
 *      │              ├────────────────┤
 *      │              │ fixing         │   reconcile --fix
 *      │              └────────────────┘
 *      └──────── done / failed (error kept in sync_state.last_error; cursors unchanged) ─┘
 *
 *   stop(): any state → stopped. Work in flight is aborted between pages; what it committed
 *   is consistent with its checkpoint.
 *
 * Backfill phases, per object type, checkpointed in sync_state.backfill:
 *   plan      search counts the type and finds min/max id; one list call checks that `after`
 *             is an id. Yes → id ranges (parallel); no, or a small type → one list stream.
 *   listing   list workers (GET list, 100 a page) take ranges from the front, search workers
 *             (id-keyed search, 200 a page, their own 5/s bucket) from the back; one writer
 *             commits batches of pages together with each range's `next`.
 *   complete  cursor = min(start, newest seen), archived cursor = start; then a catch-up pull.
 *   resume    after kill -9: the plan is found, keeps its start time, and each range goes on
 *             from its committed `next`. Nothing committed is fetched again.
 */
import { setTimeout as sleep } from 'node:timers/promises'
import type { Config } from '../config/index.js'
import { examNotInHubSpot, invalidField, syncBusy, AppError } from '../errors.js'
import { holdSlot, withPriority, type CallKind, type HubSpot, type Priority } from '../hubspot/index.js'
import type { Logger } from '../logger.js'
import {
  describeTopology,
  liveRowCounts,
  LOCKS,
  readStateValue,
  readSyncStates,
  replicaFreshAt,
  type ReplicaDriver,
} from '../replica/index.js'
import { createApplier } from './apply.js'
import { runBackfill } from './backfill.js'
import { QueuedRuns } from './queued-runs.js'
import type { SyncContext } from './context.js'
import { countingCrm, type CallCounts } from './crm-port.js'
import { createProgress } from './progress.js'
import { pullType } from './pull.js'
import { DRIFT_KEY, reconcile } from './reconcile.js'
import { pullExamsById, relistExams, type TargetContext } from './targeted.js'
import {
  SYNC_TYPES,
  type BackfillOptions,
  type BackfillResult,
  type DriftReport,
  type PullOptions,
  type PullReason,
  type PullResult,
  type ReconcileProgress,
  type SyncEngine,
  type SyncStatus,
  type SyncType,
  type TypePullResult,
} from './types.js'

const LOCK_POLL_MS = 200
const LOCK_WAIT_MS = 120_000
/** At most one freshness look-up in Postgres per this long, however many reads arrive. */
const FRESHNESS_CHECK_MS = 1_000
/** A background pull that failed is not retried sooner than this (HubSpot may be down). */
const BACKGROUND_RETRY_MS = 15_000
/** Exams one merged targeted pull may cover (the API's own cap on exam_ids). */
const MAX_TARGET_EXAMS = 500

export interface SyncEngineOptions {
  db: ReplicaDriver
  hubspot: HubSpot
  logger: Logger
  config: Config
  /** Resolves unfinished write intents; called at the start of every pull. */
  beforePull?: () => Promise<void>
  /** Search is eventually consistent: each pull re-reads this much before its cursor. Default 60 s. */
  lookbackMs?: number
  listWorkers?: number
  searchWorkers?: number
}

type Exclusive<T> = { ran: true; value: T } | { ran: false }

export class Engine implements SyncEngine {
  readonly #o: SyncEngineOptions
  readonly #calls: CallCounts = { list: 0, search: 0, batchRead: 0 }
  readonly #abort = new AbortController()
  /** What every operation shares, built once; #context() adds the object types and each operation its own fields. */
  readonly #shared: Omit<SyncContext, 'types'>
  readonly #lookbackMs: number
  /** Local queue in front of the cluster lock; `#waiting` counts who holds or waits for it. */
  #queue: Promise<void> = Promise.resolve()
  #waiting = 0
  #active = false
  /** Demand pulls waiting to start, by type list: later callers join them. */
  readonly #queuedDemand = new QueuedRuns<string, PullResult>()
  /** The targeted pull waiting to start (one key): later requests add their exams to it and share its result. */
  readonly #queuedTarget = new QueuedRuns<'target', PullResult, Set<string>>()
  /** Force syncs waiting to start, by type and exam: repeats join them. */
  readonly #queuedForce = new QueuedRuns<string, { count: number }>()
  /**
   * Pulls and force syncs each caller started that have not finished. Joining one already queued
   * (by anyone) adds no HubSpot work, so it is not counted: a dashboard's Refresh clicks are never refused.
   */
  readonly #started = new Map<string, number>()
  /** Upper bound of the last full pull known here (epoch ms); refreshed from Postgres now and then. */
  #freshAt = 0
  #nextFreshnessCheck = 0
  #checking = false
  #watchTimer: NodeJS.Timeout | null = null
  #watchers = 0
  #ticking = false
  #stopped = false
  /** The last reconcile started here, for status(): progress while it runs, then running=false. */
  #reconciling: ReconcileProgress | null = null

  constructor(options: SyncEngineOptions) {
    this.#o = options
    this.#shared = {
      db: options.db,
      crm: countingCrm(options.hubspot.crm, this.#calls),
      applier: createApplier(options.db),
      signal: this.#abort.signal,
    }
    this.#lookbackMs = options.lookbackMs ?? 60_000
  }

  // ── triggers ────────────────────────────────────────────────────────────────

  async pull(options: PullOptions = {}): Promise<PullResult> {
    const reason = options.reason ?? 'demand'
    if (this.#stopped) return skipped(reason, 'stopped')
    return withPriority(priorityOf(reason), () => this.#pull(options, reason))
  }

  async #pull(options: PullOptions, reason: PullReason): Promise<PullResult> {
    if (options.examIds?.length) return this.#queueTargeted(options.examIds, reason, options.caller)
    const types = SYNC_TYPES.filter((type) => !options.types?.length || options.types.includes(type))
    if (reason === 'access' || reason === 'watch')
      return this.#pullResult(reason, await this.#exclusive(false, () => this.#incremental(types, reason)))
    // Clicks arriving during a pull make one more pull after it (it sees their changes), not one each.
    return this.#queuedDemand.join(types.join(','), undefined, (started) =>
      this.#owned(options.caller, () =>
        this.#exclusive(true, () => {
          started()
          return this.#incremental(types, reason)
        }).then((result) => this.#pullResult(reason, result)),
      ),
    )
  }

  /**
   * Targeted pulls asked for while one waits are merged into it (their exams added), so a loop of
   * Refresh clicks or `sync_request`s costs one pull after the running one, not one each.
   */
  #queueTargeted(examIds: readonly string[], reason: PullReason, caller: string | undefined): Promise<PullResult> {
    const merge = (ids: Set<string>) => {
      const fresh = examIds.filter((id) => !ids.has(id))
      if (ids.size + fresh.length > MAX_TARGET_EXAMS) return false
      for (const id of fresh) ids.add(id)
      return true
    }
    return this.#queuedTarget.join(
      'target',
      new Set(examIds),
      (started, ids) =>
        this.#owned(caller, () =>
          this.#exclusive(true, () => {
            started()
            return this.#targeted([...ids], reason)
          }).then((result) => this.#pullResult(reason, result)),
        ),
      merge,
    )
  }

  /**
   * Starts work a caller asked for, if the caller has fewer than the bound started and unfinished;
   * otherwise refuses with 429 before anything is queued. The count drops as the work settles,
   * before its callers see the answer, so an answered caller may pull again at once.
   */
  #owned<T>(caller: string | undefined, start: () => Promise<T>): Promise<T> {
    if (caller === undefined) return start()
    const held = this.#started.get(caller) ?? 0
    const limit = this.#o.config.limits.maxQueuedPullsPerCaller
    if (held >= limit)
      throw new AppError(
        'E_TOO_MANY_PULLS',
        `you already have ${held} HubSpot pulls queued or running (at most ${limit})`,
        { retryAfterSeconds: 5, details: { limit } },
      )
    this.#started.set(caller, held + 1)
    const release = () => {
      const left = (this.#started.get(caller) ?? 1) - 1
      if (left <= 0) this.#started.delete(caller)
      else this.#started.set(caller, left)
    }
    try {
      return start().finally(release)
    } catch (error) {
      release()
      throw error
    }
  }

  noteAccess(): void {
    if (this.#stopped) return
    const now = Date.now()
    if (now - this.#freshAt < this.#o.config.syncStaleAfterMs) return
    if (this.#checking || now < this.#nextFreshnessCheck) return
    this.#checking = true
    this.#nextFreshnessCheck = now + FRESHNESS_CHECK_MS
    void this.#onStale(this.#o.config.syncStaleAfterMs, 'access').finally(() => (this.#checking = false))
  }

  setWatchers(count: number): void {
    if (this.#stopped) return
    this.#watchers = Math.max(0, count)
    const watched = this.#watchers > 0
    if (watched && !this.#watchTimer) {
      this.#watchTimer = setInterval(() => this.#watchTick(), this.#o.config.syncLiveIntervalMs)
      this.#watchTimer.unref()
      // The first watcher gets a fresh replica now, not one interval later.
      this.#watchTick()
    } else if (!watched && this.#watchTimer) {
      clearInterval(this.#watchTimer)
      this.#watchTimer = null
    }
  }

  #watchTick(): void {
    if (this.#ticking || this.#waiting > 0) return
    this.#ticking = true
    // A little under the interval, so that a tick landing just before the last pull's anniversary still pulls.
    void this.#onStale(this.#o.config.syncLiveIntervalMs * 0.8, 'watch').finally(() => (this.#ticking = false))
  }

  /** Pulls in the background when the replica (as Postgres knows it: other instances pull too) is older than maxAgeMs. */
  async #onStale(maxAgeMs: number, reason: 'access' | 'watch'): Promise<void> {
    try {
      const fresh = await replicaFreshAt(this.#o.db)
      if (fresh !== null) this.#freshAt = Math.max(this.#freshAt, fresh)
      if (Date.now() - this.#freshAt < maxAgeMs) return
      // The last watcher may have left while Postgres answered.
      if (reason === 'watch' && !this.#watchTimer) return
      const result = await this.pull({ reason })
      if (result.started) this.#o.logger.debug({ reason, ms: result.ms, calls: result.calls }, 'background pull done')
    } catch (error) {
      this.#nextFreshnessCheck = Date.now() + BACKGROUND_RETRY_MS
      if (!this.#stopped) this.#o.logger.warn({ err: error, reason }, 'background pull failed')
    }
  }

  // ── operations ──────────────────────────────────────────────────────────────

  async backfill(options: BackfillOptions = {}): Promise<BackfillResult> {
    const result = await this.#exclusive(true, () =>
      withPriority('bulk', () => this.#backfill(options, options.reason ?? 'cli')),
    )
    if (!result.ran) throw syncBusy()
    return result.value
  }

  async isBackfilled(): Promise<boolean> {
    const states = await readSyncStates(this.#o.db)
    return SYNC_TYPES.every((type) => states.get(type)!.cursorMs !== null)
  }

  async reconcile(options: { fix: boolean }): Promise<DriftReport> {
    const run = async () => withPriority('bulk', () => this.#reconcile(options))
    // Reporting only reads; repairing writes, so it takes the lock like a pull.
    if (!options.fix) return run()
    const result = await this.#exclusive(true, run)
    if (!result.ran) throw syncBusy()
    return result.value
  }

  async #reconcile(options: { fix: boolean }): Promise<DriftReport> {
    const progress: ReconcileProgress = {
      running: true,
      fix: options.fix,
      started_at: new Date().toISOString(),
      phase: 'starting',
      listed: 0,
    }
    this.#reconciling = progress
    try {
      return await reconcile(
        await this.#context({
          calls: () => this.#o.hubspot.client.stats.calls,
          onProgress: (phase: string, listed: number) => Object.assign(progress, { phase, listed }),
        }),
        options.fix,
      )
    } finally {
      progress.running = false
      progress.phase = null
    }
  }

  /** Repeats of a force sync that has not started yet join it (free); each caller may have started a few. */
  async forceSync(type: SyncType, examId?: string, caller?: string): Promise<{ count: number }> {
    if (type === 'bookings' && !examId) throw invalidField('examId', 'required when type=bookings')
    return this.#queuedForce.join(`${type}:${examId ?? ''}`, undefined, (started) =>
      this.#owned(caller, () => withPriority('demand', () => this.#forceSync(type, examId, started))),
    )
  }

  async #forceSync(type: SyncType, examId: string | undefined, started: () => void): Promise<{ count: number }> {
    const result = await this.#exclusive(true, async () => {
      started()
      await this.#beforePull()
      const ctx = await this.#target(true)
      if (type === 'exams') return { count: (await relistExams(ctx)).fetched }
      const pulled = await pullExamsById(ctx, [examId!])
      if (!pulled.foundExams.has(examId!)) throw examNotInHubSpot(examId!, 'examId')
      return { count: pulled.bookings.fetched }
    })
    if (!result.ran) throw syncBusy()
    return result.value
  }

  async status(): Promise<SyncStatus> {
    const { db, hubspot } = this.#o
    const [states, counts, usage, drift] = await Promise.all([
      readSyncStates(db),
      liveRowCounts(db),
      hubspot.client.budget.usage(),
      readStateValue<DriftReport>(db, DRIFT_KEY),
    ])
    const objects = {} as SyncStatus['objects']
    let oldestUpper: number | null = null
    let pullingElsewhere = false
    for (const type of SYNC_TYPES) {
      const state = states.get(type)!
      objects[type] = {
        cursor: state.cursorMs === null ? null : new Date(state.cursorMs).toISOString(),
        last_pull_at: state.lastPullOkAt,
        last_pull_ms: state.lastPull?.ms ?? null,
        rows: counts[type],
      }
      const upper = state.lastPull?.upper_ms ?? null
      oldestUpper = upper === null || oldestUpper === null ? (oldestUpper ?? upper) : Math.min(oldestUpper, upper)
      const started = state.lastPullStartedAt ? Date.parse(state.lastPullStartedAt) : 0
      const finished = state.lastPullFinishedAt ? Date.parse(state.lastPullFinishedAt) : 0
      // A start with no finish in the last few minutes is a pull running on some instance (or one that died).
      if (started > finished && Date.now() - started < 5 * 60_000) pullingElsewhere = true
    }
    return {
      objects,
      lag_ms: oldestUpper === null ? null : Math.max(0, Date.now() - oldestUpper),
      pulling: this.#active || pullingElsewhere,
      hubspot: {
        base_url: hubspot.client.baseUrl,
        limit_10s: usage.limit_10s,
        used_10s: usage.used_10s,
        daily_limit: usage.daily_limit,
        used_daily: usage.used_daily,
        search_limit_s: usage.search_limit_s,
        rate_limited_total: hubspot.client.stats.rateLimited,
        calls_total: hubspot.client.stats.calls,
      },
      drift: drift && {
        checked_at: drift.checked_at,
        missing_in_replica: drift.missing_in_replica,
        extra_in_replica: drift.extra_in_replica,
        stale_in_replica: drift.stale_in_replica,
        fixed: drift.fixed,
      },
      ...(this.#reconciling ? { reconcile: { ...this.#reconciling } } : {}),
      watchers: this.#watchers,
      database: { kind: db.kind, ...describeTopology(db) },
    }
  }

  async stop(): Promise<void> {
    if (this.#stopped) return
    this.#stopped = true
    if (this.#watchTimer) clearInterval(this.#watchTimer)
    this.#watchTimer = null
    this.#abort.abort(new Error('the sync engine is stopping'))
    // Whatever holds the lock finishes its current page and lets go; what queued behind it does not start.
    await this.#exclusive(true, async () => undefined)
  }

  // ── inside the lock ─────────────────────────────────────────────────────────

  async #incremental(types: readonly SyncType[], reason: PullReason): Promise<PullResult> {
    if (!(await this.isBackfilled())) {
      if (reason === 'access' || reason === 'watch') return skipped(reason, 'not-backfilled')
      const progress = createProgress({ tty: false, log: (line, fields) => this.#o.logger.info(fields, line) })
      const backfilled = await this.#backfill({ progress }, reason)
      return {
        started: true,
        kind: 'backfill',
        reason,
        objects: backfilled.catchUp?.objects ?? {},
        ms: backfilled.ms,
        calls: backfilled.calls,
      }
    }
    await this.#beforePull()
    return this.#pullTypes(types, reason)
  }

  async #pullTypes(types: readonly SyncType[], reason: PullReason, deletes = true): Promise<PullResult> {
    const started = Date.now()
    const calls = this.#o.hubspot.client.stats.calls
    const ctx = await this.#context({ lookbackMs: this.#lookbackMs, reason, deletes })
    const settled = await Promise.allSettled(types.map((type) => pullType(ctx, type)))
    const failed = settled.find((result): result is PromiseRejectedResult => result.status === 'rejected')
    if (failed) throw failed.reason
    const objects: PullResult['objects'] = {}
    types.forEach((type, i) => (objects[type] = (settled[i] as PromiseFulfilledResult<TypePullResult>).value))
    if (types.length === SYNC_TYPES.length && deletes) this.#freshAt = Math.max(this.#freshAt, started)
    const result: PullResult = {
      started: true,
      kind: 'incremental',
      reason,
      objects,
      ms: Date.now() - started,
      calls: this.#o.hubspot.client.stats.calls - calls,
    }
    const changed = types.reduce((sum, type) => sum + objects[type]!.changed + objects[type]!.deleted, 0)
    this.#o.logger[changed > 0 || reason === 'demand' || reason === 'cli' ? 'info' : 'debug'](
      { reason, ms: result.ms, calls: result.calls, changed },
      'pull done',
    )
    return result
  }

  async #targeted(examIds: string[], reason: PullReason): Promise<PullResult> {
    await this.#beforePull()
    const started = Date.now()
    const calls = this.#o.hubspot.client.stats.calls
    const { exams, bookings } = await pullExamsById(await this.#target(false), examIds)
    return {
      started: true,
      kind: 'targeted',
      reason,
      objects: { exams, bookings },
      ms: Date.now() - started,
      calls: this.#o.hubspot.client.stats.calls - calls,
    }
  }

  async #backfill(options: BackfillOptions, reason: PullReason): Promise<BackfillResult> {
    await this.#beforePull()
    const started = Date.now()
    const { client } = this.#o.hubspot
    const before = { calls: client.stats.calls, search: this.#calls.search, rateLimited: client.stats.rateLimited }
    const run = await runBackfill(
      await this.#context({
        logger: this.#o.logger,
        listWorkers: this.#o.listWorkers,
        searchWorkers: this.#o.searchWorkers,
        slot: (kind: CallKind, signal: AbortSignal) => holdSlot(client.budget, kind, signal),
      }),
      options,
    )
    // Changes made while the backfill read: search only (its own bucket); deletes wait for the next pull.
    const catchUp = run.ran ? await this.#pullTypes(SYNC_TYPES, reason, false) : null
    const result: BackfillResult = {
      ran: run.ran,
      resumed: run.resumed,
      rows: run.rows,
      fetched: run.fetched,
      mode: run.mode,
      ms: Date.now() - started,
      calls: client.stats.calls - before.calls,
      searchCalls: this.#calls.search - before.search,
      rateLimited: client.stats.rateLimited - before.rateLimited,
      catchUp,
    }
    const summary = run.ran
      ? `backfill ${run.resumed ? 'resumed and ' : ''}done: ${run.rows.exams} exams, ${run.rows.bookings} bookings in ${(result.ms / 1000).toFixed(1)} s, ${result.calls} HubSpot calls, ${result.rateLimited} rate-limited`
      : 'backfill: already complete'
    options.progress?.finish(summary)
    this.#o.logger.info({ ...result, catchUp: undefined }, summary)
    return result
  }

  async #beforePull(): Promise<void> {
    if (!this.#o.beforePull) return
    try {
      // Resolving unfinished writes is part of the write path: it goes first, whoever pulls.
      await withPriority('write', () => this.#o.beforePull!())
    } catch (error) {
      // An intent that cannot be resolved now (HubSpot down) must not stop the replica from catching up.
      this.#o.logger.warn({ err: error }, 'resolving pending write intents failed; pulling anyway')
    }
  }

  #target(force: boolean): Promise<TargetContext> {
    return this.#context({ force, source: force ? 'manual' : 'sync' })
  }

  /** The shared context with this operation's fields; the object types are looked up per operation (cached by the client). */
  async #context<T extends object>(extra: T): Promise<SyncContext & T> {
    return { ...this.#shared, types: await this.#o.hubspot.objectTypes(), ...extra }
  }

  #pullResult(reason: PullReason, result: Exclusive<PullResult>): PullResult {
    return result.ran ? result.value : skipped(reason, this.#stopped ? 'stopped' : 'busy')
  }

  /**
   * Runs fn holding the local queue and then the cluster lock. Without `wait`, gives up at once
   * when either is taken; with it, queues locally and polls the cluster lock.
   */
  async #exclusive<T>(wait: boolean, fn: () => Promise<T>): Promise<Exclusive<T>> {
    if (!wait && this.#waiting > 0) return { ran: false }
    this.#waiting += 1
    const previous = this.#queue
    let release!: () => void
    this.#queue = new Promise<void>((resolve) => (release = resolve))
    try {
      await previous
      // Stopping: whatever was queued behind the running operation does not start.
      if (this.#stopped) return { ran: false }
      const deadline = Date.now() + LOCK_WAIT_MS
      for (;;) {
        const held = await this.#o.db.withTryLock(LOCKS.sync, async () => {
          this.#active = true
          try {
            return await fn()
          } finally {
            this.#active = false
          }
        })
        if (held.acquired) return { ran: true, value: held.value }
        if (!wait || this.#stopped || Date.now() > deadline) return { ran: false }
        await sleep(LOCK_POLL_MS)
      }
    } finally {
      this.#waiting -= 1
      release()
    }
  }
}

/** Who waits for a pull decides how urgent its HubSpot calls are (writes outrank every pull). */
function priorityOf(reason: PullReason): Priority {
  return reason === 'access' || reason === 'watch' ? 'background' : 'demand'
}

function skipped(reason: PullReason, why: NonNullable<PullResult['skipped']>): PullResult {
  return { started: false, kind: 'skipped', reason, objects: {}, ms: 0, calls: 0, skipped: why }
}

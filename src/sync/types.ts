// The sync engine's public vocabulary: the engine interface, pull/backfill/drift results and the status shape.
import type { SyncStatus, SyncType } from '../model/records.js'

export { SYNC_TYPES, type SyncType } from '../model/records.js'

export type PullReason = 'demand' | 'access' | 'watch' | 'cli' | 'start'

export interface PullOptions {
  types?: SyncType[]
  /** A targeted pull: these exams and their bookings only (cheap; the dashboard's per-exam Refresh). */
  examIds?: string[]
  reason?: PullReason
  /** Who asked (a token subject): each caller may have started only a few unfinished pulls (joining one is free). */
  caller?: string
}

export interface TypePullResult {
  /** Objects HubSpot returned (re-reads inside the look-back window included). */
  fetched: number
  /** Replica rows that actually changed (each one a change-log event). */
  changed: number
  /** Rows soft-deleted because HubSpot archived them. */
  deleted: number
  /** The saved cursor after the pull, ISO 8601; null for targeted pulls. */
  cursor: string | null
  calls: number
}

export interface PullResult {
  /** false: skipped, because a pull was already running here or on another instance. */
  started: boolean
  kind: 'incremental' | 'targeted' | 'backfill' | 'skipped'
  reason: PullReason
  objects: Partial<Record<SyncType, TypePullResult>>
  ms: number
  /** HubSpot requests this pull made (this instance's client). */
  calls: number
  /** Why it did not start, when it did not. */
  skipped?: 'busy' | 'not-backfilled' | 'stopped'
}

export interface BackfillResult {
  /** false: it was complete already (use restart to run it again). */
  ran: boolean
  resumed: boolean
  /** Rows committed, by this run and any run it resumed. */
  rows: Record<SyncType, number>
  /** Rows this run fetched and wrote (a resume fetches only what was not committed). */
  fetched: number
  ms: number
  calls: number
  searchCalls: number
  rateLimited: number
  mode: Record<SyncType, 'ranges' | 'single'>
  catchUp: PullResult | null
}

export interface BackfillOptions {
  progress?: ProgressReporter
  /** Forget a finished (or half-done) backfill and run it again from the start. */
  restart?: boolean
  /** What started it, for the log ('cli' unless said). */
  reason?: PullReason
}

export interface TypeDrift {
  missing_in_replica: number
  extra_in_replica: number
  stale_in_replica: number
  hubspot_rows: number
  replica_rows: number
  /** Up to 20 ids of each kind, to look at. */
  samples: { missing: string[]; extra: string[]; stale: string[] }
}

export interface DriftReport {
  checked_at: string
  missing_in_replica: number
  extra_in_replica: number
  stale_in_replica: number
  /** Rows repaired (0 unless run with fix). */
  fixed: number
  objects: Record<SyncType, TypeDrift>
  calls: number
  ms: number
}

export type { ReconcileProgress, SyncStatus } from '../model/records.js'

export interface ProgressSnapshot {
  phase: string
  done: number
  total: number | null
}

/** Where a backfill reports how far it is (a TTY bar, log lines, or nothing). */
export interface ProgressReporter {
  update(snapshot: ProgressSnapshot): void
  finish(summary: string): void
}

export interface SyncEngine {
  /** Single-flight: a background caller arriving while another pull runs gets {started:false}; an on-demand one waits and pulls after it. */
  pull(options?: PullOptions): Promise<PullResult>
  /** Cheap: compares an in-memory timestamp; starts a background pull when the replica is older than SYNC_STALE_AFTER. */
  noteAccess(): void
  /** The realtime hub's subscriber count; while it is above zero, pull every SYNC_LIVE_INTERVAL. */
  setWatchers(count: number): void
  backfill(options?: BackfillOptions): Promise<BackfillResult>
  isBackfilled(): Promise<boolean>
  reconcile(options: { fix: boolean }): Promise<DriftReport>
  forceSync(type: SyncType, examId?: string, caller?: string): Promise<{ count: number }>
  status(): Promise<SyncStatus>
  stop(): Promise<void>
}

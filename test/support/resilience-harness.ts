// Shared tools of the resilience suite: servers to run against, a tolerant HTTP client, HubSpot vs replica checks, figures.
import { setTimeout as sleep } from 'node:timers/promises'
import { mkdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import pg from 'pg'
import { expect } from 'vitest'
import { BOOKING_PROPERTIES, EXAM_PROPERTIES, type HubSpotObject } from '../../src/hubspot/index.js'
import { issueToken, PERMISSIONS, type Permission } from '../../src/http/jwt.js'
import { startChildServer, type ChildServer } from './child-server.js'
import { freshDatabase, tempDir, type TestDatabase, testNamespace } from './env.js'
import { hubspot, listAll, OBJECT_TYPE, type Kind } from './hubspot-direct.js'
import { startPrivatePostgres, startPrivateRedis } from './private-services.js'
import { profile } from '../resilience/profile.js'

export { sleep }

/** A small deterministic PRNG, so that a failing run can be replayed from its seed. */
export function prng(seed: number): () => number {
  let state = seed >>> 0
  return () => {
    state = (state * 1664525 + 1013904223) >>> 0
    return state / 2 ** 32
  }
}

export const seedFromEnv = (fallback: number) => Number(process.env.RESILIENCE_SEED ?? fallback)

// ── servers ─────────────────────────────────────────────────────────────────────────────────

/**
 * A fresh database on DATABASE_URL's server, or on a private cluster when it is unset, so that
 * `npm run test:resilience` runs on a machine with Postgres binaries but no configured server.
 */
export async function resilienceDatabase(): Promise<TestDatabase & { url: string }> {
  if (process.env.DATABASE_URL) {
    const database = await freshDatabase()
    return { url: database.url as string, drop: () => database.drop() }
  }
  const server = await startPrivatePostgres()
  return { url: server.url, drop: () => server.remove() }
}

/** REDIS_URL's server (tests use their own namespace), or a private one when it is unset. */
export async function resilienceRedis(): Promise<{ url: string; close(): Promise<void> }> {
  if (process.env.REDIS_URL) return { url: process.env.REDIS_URL, close: async () => {} }
  const server = await startPrivateRedis()
  return { url: server.url, close: () => server.close() }
}

export interface ResilienceServers {
  database: TestDatabase & { url: string }
  redis: { url: string; close(): Promise<void> }
  /** Every permission, no subject: the scenario's own client. */
  token: string
  /** A token of this subject (per-subject limits count by it); a viewer's unless told. */
  tokenOf(subject: string, permissions?: readonly Permission[]): string
  /** The instances, by the index they were started with. */
  servers: ChildServer[]
  /** Starts instance i: a child `hubmirror serve` with its own data dir, on the shared database, Redis and namespace. */
  start(i?: number, env?: Record<string, string>): Promise<ChildServer>
  /** Stops every instance started (a dead one is passed over), all at once. */
  stop(signal: NodeJS.Signals): Promise<void>
  /** Drops the database, closes Redis, removes the data dirs: last, once the servers and HubSpot are gone. */
  remove(): Promise<void>
}

/**
 * What a scenario of `hubmirror serve` children stands on: a fresh database, Redis, one secret and
 * its tokens. `env` is added to every instance's (limits, flags); `hubspotToken` is the app's token.
 */
export async function resilienceServers(
  scenario: string,
  options: { hubspotUrl: string; hubspotToken?: string; env?: Record<string, string> },
): Promise<ResilienceServers> {
  const database = await resilienceDatabase()
  const redis = await resilienceRedis().catch(async (error) => {
    await database.drop()
    throw error
  })
  const secret = `resilience-${scenario}-secret-0123456789`
  const namespace = testNamespace(`res-${scenario}`)
  const dataDirs: Array<ReturnType<typeof tempDir>> = []
  const servers: ChildServer[] = []
  return {
    database,
    redis,
    token: issueToken(secret, PERMISSIONS),
    tokenOf: (subject, permissions = ['exams.view']) => issueToken(secret, [...permissions], { subject }),
    servers,
    async start(i = 0, env = {}) {
      dataDirs[i] ??= tempDir(`hm-${scenario}-`)
      servers[i] = await startChildServer({
        HUBMIRROR_DATA_DIR: dataDirs[i].path,
        HUBMIRROR_JWT_SECRET: secret,
        HUBSPOT_ACCESS_TOKEN: options.hubspotToken ?? `hubmirror-${scenario}`,
        HUBSPOT_BASE_URL: options.hubspotUrl,
        DATABASE_URL: database.url,
        REDIS_URL: redis.url,
        HUBMIRROR_REDIS_NAMESPACE: namespace,
        LOG_LEVEL: process.env.RESILIENCE_LOG ?? 'warn',
        ...options.env,
        ...env,
      })
      return servers[i]
    },
    async stop(signal) {
      await Promise.all(servers.map((server) => server.kill(signal)))
    },
    async remove() {
      await database.drop()
      await redis.close()
      for (const dir of dataDirs) dir?.remove()
    },
  }
}

// ── HTTP ────────────────────────────────────────────────────────────────────────────────────

export interface Answer<T = any> {
  /** 0: no HTTP answer at all (connection refused or reset, or the client's timeout). */
  status: number
  body: T
  ms: number
  error?: string
}

/** Never throws: a dead server is an answer (status 0) the scenarios reason about. */
export async function call<T = any>(
  base: string,
  token: string,
  method: string,
  path: string,
  body?: unknown,
  timeoutMs = 60_000,
): Promise<Answer<T>> {
  const started = Date.now()
  try {
    const response = await fetch(base + path, {
      method,
      headers: {
        authorization: `Bearer ${token}`,
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      },
      body: body === undefined ? undefined : JSON.stringify(body),
      signal: AbortSignal.timeout(timeoutMs),
    })
    const text = await response.text()
    let parsed: unknown = text
    try {
      parsed = text ? JSON.parse(text) : null
    } catch {
      // not JSON: kept as text
    }
    return { status: response.status, body: parsed as T, ms: Date.now() - started }
  } catch (error) {
    return { status: 0, body: null as T, ms: Date.now() - started, error: String((error as Error).cause ?? error) }
  }
}

export async function waitUntil(
  check: () => Promise<boolean> | boolean,
  timeoutMs: number,
  what: string,
  everyMs = 50,
): Promise<number> {
  const started = Date.now()
  for (;;) {
    if (await check()) return Date.now() - started
    if (Date.now() - started > timeoutMs) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`)
    await sleep(everyMs)
  }
}

// ── HubSpot (the emulator) and the replica ──────────────────────────────────────────────────

/** The checker's own token: its calls have their own rate window and never spend the app's. */
const CHECKER_TOKEN = 'resilience-checker'

export function hubspotCall<T = any>(emulatorUrl: string, method: string, path: string, body?: unknown): Promise<T> {
  return hubspot<T>(emulatorUrl, method, path, body, CHECKER_TOKEN)
}

export type { Kind }

export function hubspotObjects(emulatorUrl: string, kind: Kind): Promise<HubSpotObject[]> {
  return listAll(emulatorUrl, kind, kind === 'exams' ? EXAM_PROPERTIES : BOOKING_PROPERTIES, CHECKER_TOKEN)
}

export async function createHubSpotExam(emulatorUrl: string, n: number, capacity: number): Promise<HubSpotObject> {
  return hubspotCall<HubSpotObject>(emulatorUrl, 'POST', `/crm/v3/objects/${OBJECT_TYPE.exams}`, {
    properties: {
      mock_exam_name: `Resilience ${n}`,
      mock_type: 'Clinical Skills',
      exam_date: `2026-12-${String(1 + (n % 28)).padStart(2, '0')}`,
      start_time: '09:00',
      end_time: '12:00',
      location: `Site ${n}`,
      capacity: String(capacity),
      total_bookings: '0',
      is_active: 'true',
    },
  })
}

export interface ReplicaRow {
  hubspot_id: string
  booking_id?: string | null
  mock_exam_id?: string | null
  booking_status?: string | null
  total_bookings?: number
  hs_lastmodifieddate: string
}

export async function withDb<T>(url: string, fn: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: url })
  await client.connect()
  try {
    return await fn(client)
  } finally {
    await client.end()
  }
}

export async function replicaRows(url: string, kind: Kind): Promise<ReplicaRow[]> {
  return withDb(url, async (client) => {
    const sql =
      kind === 'exams'
        ? `SELECT hubspot_id, total_bookings, hs_lastmodifieddate FROM public.hubspot_mock_exams WHERE deleted_at IS NULL`
        : `SELECT hubspot_id, booking_id, mock_exam_id, booking_status, hs_lastmodifieddate FROM public.hubspot_bookings WHERE deleted_at IS NULL`
    const { rows } = await client.query(sql)
    return rows.map((row) => ({ ...row, hs_lastmodifieddate: new Date(row.hs_lastmodifieddate).toISOString() }))
  })
}

export interface Comparison {
  exams: number
  bookings: number
  confirmed: number
  /** Every disagreement, as text; empty when the replica equals HubSpot. */
  mismatches: string[]
  duplicateKeysHubSpot: number
  duplicateKeysReplica: number
}

const instant = (value: string | null | undefined) => (value ? new Date(value).toISOString() : null)

/**
 * The replica against HubSpot, object by object: same ids, same hs_lastmodifieddate, same
 * booking_status; booking_id unique on both sides; and each exam's total_bookings equal to its
 * confirmed bookings on both sides.
 */
export async function compareWithHubSpot(databaseUrl: string, emulatorUrl: string): Promise<Comparison> {
  const [hsExams, hsBookings, dbExams, dbBookings] = await Promise.all([
    hubspotObjects(emulatorUrl, 'exams'),
    hubspotObjects(emulatorUrl, 'bookings'),
    replicaRows(databaseUrl, 'exams'),
    replicaRows(databaseUrl, 'bookings'),
  ])
  const mismatches: string[] = []
  const compare = (kind: Kind, hubspot: HubSpotObject[], replica: ReplicaRow[], fields: Array<keyof ReplicaRow>) => {
    const rows = new Map(replica.map((row) => [row.hubspot_id, row]))
    for (const object of hubspot) {
      const row = rows.get(object.id)
      if (!row) {
        mismatches.push(`${kind} ${object.id}: in HubSpot, not in the replica`)
        continue
      }
      rows.delete(object.id)
      if (instant(object.properties.hs_lastmodifieddate) !== row.hs_lastmodifieddate) {
        mismatches.push(
          `${kind} ${object.id}: hs_lastmodifieddate HubSpot ${object.properties.hs_lastmodifieddate}, replica ${row.hs_lastmodifieddate}`,
        )
      }
      for (const field of fields) {
        const theirs = object.properties[field] ?? null
        const ours = row[field] === undefined || row[field] === null ? null : String(row[field])
        if (theirs !== ours) mismatches.push(`${kind} ${object.id}: ${field} HubSpot ${theirs}, replica ${ours}`)
      }
    }
    for (const id of rows.keys()) mismatches.push(`${kind} ${id}: in the replica, not in HubSpot`)
  }
  compare('exams', hsExams, dbExams, ['total_bookings'])
  compare('bookings', hsBookings, dbBookings, ['booking_status', 'booking_id', 'mock_exam_id'])

  const duplicates = (keys: Array<string | null | undefined>) => keys.length - new Set(keys).size
  const duplicateKeysHubSpot = duplicates(hsBookings.map((b) => b.properties.booking_id))
  const duplicateKeysReplica = duplicates(dbBookings.map((b) => b.booking_id))
  if (duplicateKeysHubSpot) mismatches.push(`${duplicateKeysHubSpot} booking_id duplicated in HubSpot`)
  if (duplicateKeysReplica) mismatches.push(`${duplicateKeysReplica} booking_id duplicated in the replica`)

  const confirmedBy = (pairs: Array<[string | null | undefined, string | null | undefined]>) => {
    const counts = new Map<string, number>()
    for (const [examId, status] of pairs)
      if (examId && status === 'confirmed') counts.set(examId, (counts.get(examId) ?? 0) + 1)
    return counts
  }
  const hsConfirmed = confirmedBy(hsBookings.map((b) => [b.properties.mock_exam_id, b.properties.booking_status]))
  const dbConfirmed = confirmedBy(dbBookings.map((b) => [b.mock_exam_id, b.booking_status]))
  for (const exam of hsExams) {
    const total = Number(exam.properties.total_bookings ?? 0)
    if (total !== (hsConfirmed.get(exam.id) ?? 0))
      mismatches.push(
        `exam ${exam.id}: HubSpot total_bookings ${total}, confirmed bookings in HubSpot ${hsConfirmed.get(exam.id) ?? 0}`,
      )
  }
  for (const exam of dbExams) {
    if (exam.total_bookings !== (dbConfirmed.get(exam.hubspot_id) ?? 0))
      mismatches.push(
        `exam ${exam.hubspot_id}: replica total_bookings ${exam.total_bookings}, confirmed bookings in the replica ${dbConfirmed.get(exam.hubspot_id) ?? 0}`,
      )
  }
  return {
    exams: hsExams.length,
    bookings: hsBookings.length,
    confirmed: [...hsConfirmed.values()].reduce((a, b) => a + b, 0),
    mismatches,
    duplicateKeysHubSpot,
    duplicateKeysReplica,
  }
}

// ── figures for docs/RELIABILITY.md ─────────────────────────────────────────────────────────

export interface ScenarioFigures {
  /** File name and sort key. */
  scenario: string
  order: number
  title: string
  /** What was thrown at it, with the measured counts. */
  load: string
  /** What failed while it ran. */
  faults: string
  /** What was verified afterwards, with the measured counts. */
  checked: string
  durationMs: number
  figures: Record<string, unknown>
}

/** Written only when the scenario's assertions all passed: the table shows measured, passing runs. */
export function recordFigures(figures: ScenarioFigures): void {
  const dir = join(process.cwd(), 'test-artifacts', 'resilience')
  mkdirSync(dir, { recursive: true })
  const out = { ...figures, profile, result: 'pass', recordedAt: new Date().toISOString(), node: process.version }
  writeFileSync(join(dir, `${figures.scenario}.json`), JSON.stringify(out, null, 2) + '\n')
}

export const fmt = (n: number) => n.toLocaleString('en-US')

// ── read-your-writes across instances ───────────────────────────────────────────────────────

/** Anything that answers the HTTP API: a child server over the network, or an in-process app by inject. */
export interface Instance {
  name: string
  request<T = any>(method: string, path: string, body?: unknown): Promise<Answer<T>>
}

interface ExamLedger {
  /** HubSpot ids of bookings whose create was acknowledged, in order. */
  created: string[]
  createsStarted: number
  cancelled: string[]
  cancelsStarted: number
  live: Set<string>
}

export type ReadKind = 'bookings' | 'exam' | 'list'

/**
 * Tracks what each exam must show given the writes acknowledged so far. A read must reflect every
 * write acknowledged before it started (read-your-writes, on any instance), and may reflect writes
 * still in flight: so a count must lie between what was acknowledged before the read and what
 * had been started by its end.
 */
export class ConsistencyLedger {
  readonly #exams = new Map<string, ExamLedger>()
  readonly stale: string[] = []
  readonly errors: string[] = []
  readonly counts = { writes: 0, cancels: 0, reads: 0, refusedWrites: 0 }
  /** Named in every finding, so that a failure says in which part of a scenario it happened. */
  phase = ''
  /** Adds what the database says to a stale finding (debugging aid). */
  diagnose: ((examId: string) => Promise<string>) | null = null
  /**
   * Waits for the exam counter pushes owed so far on every instance (countersSettled): an exam's
   * total_bookings follows the write's answer. With it, a count read must reflect every write
   * acknowledged before the read; without it (servers in other processes), only that it is some
   * count the exam has had: 0..creates started.
   */
  settle: (() => Promise<void>) | null = null

  constructor(examIds: readonly string[]) {
    for (const id of examIds)
      this.#exams.set(id, { created: [], createsStarted: 0, cancelled: [], cancelsStarted: 0, live: new Set() })
  }

  examIds(): string[] {
    return [...this.#exams.keys()]
  }

  #ledger(examId: string): ExamLedger {
    return this.#exams.get(examId) as ExamLedger
  }

  async book(on: Instance, examId: string, n: number): Promise<Answer> {
    const ledger = this.#ledger(examId)
    ledger.createsStarted += 1
    const answer = await on.request('POST', '/api/bookings', {
      examId,
      student_name: `Student ${n}`,
      student_email: `student${n}@example.com`,
      booking_id: `ryw-${examId}-${n}`,
    })
    if (answer.status === 201 || answer.status === 200) {
      ledger.created.push(answer.body.booking.hubspot_id)
      ledger.live.add(answer.body.booking.hubspot_id)
      this.counts.writes += 1
    } else this.#refused(on, 'book', answer)
    return answer
  }

  /** A refused write never counts as acknowledged; only a clean error is acceptable. */
  #refused(on: Instance, what: string, answer: Answer): void {
    this.counts.refusedWrites += 1
    if (answer.status < 400 || answer.status === 500 || answer.body?.success !== false)
      this.errors.push(`${on.name} ${what} → ${answer.status} ${JSON.stringify(answer.body).slice(0, 200)}`)
  }

  /** Cancels a random live booking of the exam, if it has one. */
  async cancel(on: Instance, examId: string, random: () => number): Promise<Answer | null> {
    const ledger = this.#ledger(examId)
    const live = [...ledger.live]
    if (live.length === 0) return null
    const id = live[Math.floor(random() * live.length)]
    ledger.live.delete(id)
    ledger.cancelsStarted += 1
    const answer = await on.request('POST', `/api/bookings/${id}/cancel`)
    if (answer.status === 200) {
      ledger.cancelled.push(id)
      this.counts.cancels += 1
    } else this.#refused(on, 'cancel', answer)
    return answer
  }

  async read(on: Instance, examId: string, kind: ReadKind): Promise<Answer> {
    const ledger = this.#ledger(examId)
    const before = { created: ledger.created.length, cancelled: ledger.cancelled.length }
    if (kind !== 'bookings') await this.settle?.()
    const path =
      kind === 'bookings'
        ? `/api/mock-exams/${examId}/bookings`
        : kind === 'exam'
          ? `/api/mock-exams/${examId}`
          : '/api/mock-exams'
    const answer = await on.request('GET', path)
    this.counts.reads += 1
    if (answer.status !== 200) {
      this.errors.push(`${on.name} GET ${path} → ${answer.status} ${JSON.stringify(answer.body).slice(0, 200)}`)
      return answer
    }
    const where = `${this.phase ? `[${this.phase}] ` : ''}${on.name} GET ${path}`
    if (kind === 'bookings') {
      const rows = new Map(
        (answer.body.bookings as Array<{ hubspot_id: string; booking_status: string }>).map((b) => [
          b.hubspot_id,
          b.booking_status,
        ]),
      )
      const missing = ledger.created.slice(0, before.created).filter((id) => !rows.has(id))
      const notCancelled = ledger.cancelled.slice(0, before.cancelled).filter((id) => rows.get(id) !== 'cancelled')
      if (missing.length)
        this.stale.push(`${where}: ${missing.length} acknowledged bookings missing (e.g. ${missing[0]})`)
      if (notCancelled.length)
        this.stale.push(`${where}: ${notCancelled.length} acknowledged cancels not shown (e.g. ${notCancelled[0]})`)
    } else {
      const exam =
        kind === 'exam'
          ? answer.body.exam
          : (answer.body.exams as Array<{ hubspot_id: string }>).find((e) => e.hubspot_id === examId)
      const total = (exam as { total_bookings?: number } | undefined)?.total_bookings
      // Lowest possible: creates acknowledged before the read, less every cancel started by its end; highest: the reverse.
      const low = this.settle ? before.created - ledger.cancelsStarted : 0
      const high = ledger.createsStarted - (this.settle ? before.cancelled : 0)
      if (typeof total !== 'number' || total < low || total > high)
        this.stale.push(
          `${where}: total_bookings ${total}, expected ${low}..${high}${this.diagnose ? `; ${await this.diagnose(examId)}` : ''}`,
        )
    }
    return answer
  }

  /** Confirmed bookings each exam must end with, once every write has been answered. */
  expectedConfirmed(): Map<string, number> {
    return new Map([...this.#exams].map(([id, ledger]) => [id, ledger.created.length - ledger.cancelled.length]))
  }
}

/** What a resilience run's exams differ by; each holds 10,000 seats, so capacity never refuses a write. */
export interface ExamShape {
  name: string
  mock_type: string
  exam_date: string
  start_time: string
  end_time: string
  location: string
}

/**
 * Creates `count` exams named `${name} ${i}` through `post` (told i, so runs over several
 * instances can spread them), each expected to answer 201; their ids, in order.
 */
export async function createExams(
  count: number,
  exam: ExamShape,
  post: (i: number, path: string, body: Record<string, unknown>) => Promise<Answer>,
): Promise<string[]> {
  const { name, ...fields } = exam
  const examIds: string[] = []
  for (let i = 0; i < count; i++) {
    const created = await post(i, '/api/mock-exams', { mock_exam_name: `${name} ${i}`, ...fields, capacity: 10_000 })
    expect(created.status).toBe(201)
    examIds.push(created.body.exam.hubspot_id)
  }
  return examIds
}

// The HubSpot CRM emulator's public API: start it in-process, or run it from the command line.
/*
 * Two path families over one store, one set of limits and the same error bodies (see routes.ts):
 * - `v3` (legacy): `/crm/v3/objects/{type}…`, `/crm/v3/schemas`, `/crm/v4/…` associations.
 * - `2026-03`: `/crm/objects/2026-03/{type}…` (batch, search), `/crm-object-schemas/2026-03/schemas`,
 *   `/crm/properties/2026-03/{type}`, record associations under `/crm/objects/2026-03/{type}/{id}/associations/…`
 *   and batch associations under `/crm/associations/2026-03/{from}/{to}/batch/…`.
 * Where the 2026-03 shapes differ from v3, and the source:
 * - Batch upsert: each result carries `new` (true when created) and echoes `objectWriteTraceId`; the unique
 *   property may be given once as the `idProperty` query parameter instead of on every input.
 *   https://developers.hubspot.com/docs/api-reference/2026-03/crm/objects/custom-objects/batch/upsert-custom-objects
 *   (v3 results carry `new` too, so clients may rely on it in both families.)
 * - Batch association read: `toObjectId` is a string in the 2026-03 reference
 *   (https://developers.hubspot.com/docs/api-reference/latest/crm/associations/associate-records/batch/get-associations);
 *   the v4 docs' examples show numbers, which the v3 family keeps.
 * - Paths: https://developers.hubspot.com/docs/api-reference/2026-03/overview ,
 *   https://developers.hubspot.com/docs/api-reference/latest/crm/objects/schemas/guide
 * Write validation (`POST /_emulator/validation`, `--require`) applies to both families, as HubSpot's
 * 2026-09 enforcement does to API writes: https://developers.hubspot.com/changelog/crm-api-write-validation-enforcement
 */
import { join, resolve } from 'node:path'
import { HsError, validationError } from './errors.js'
import { Persistence } from './persistence.js'
import type { Reply } from './request.js'
import {
  BOOKINGS_OBJECT_TYPE_ID,
  CONTACTS_OBJECT_TYPE_ID,
  DEFAULT_PORTAL_ID,
  MOCK_EXAMS_OBJECT_TYPE_ID,
  OBJECT_DEFS,
  objectTypeResolver,
} from './schema.js'
import type { LimitSettings } from './limits.js'
import { seedStore, seedStoreGradually, type SeedSpec } from './seed.js'
import { EmulatorServer, NO_FAULTS, type EmulatorStats, type Faults } from './server.js'
import { Store } from './store.js'
import { ValidationRules } from './validation.js'

export { BOOKINGS_OBJECT_TYPE_ID, CONTACTS_OBJECT_TYPE_ID, MOCK_EXAMS_OBJECT_TYPE_ID }
export type { EmulatorStats, Faults, SeedSpec }

export interface EmulatorOptions {
  /** 0 = a random free port */
  port?: number
  /** default 127.0.0.1 */
  host?: string
  /** null = in-memory, no persistence */
  dataDir?: string | null
  seed?: SeedSpec
  token?: string | null
  /** default 190 */
  rateLimit10s?: number
  /** default 5 */
  searchRatePerSecond?: number
  /** default 1,000,000 */
  dailyLimit?: number
  /** how long a change takes to become visible to search; default 0 */
  searchLagMs?: number
  portalId?: number
  /** write-validation rules at start, as `objectType.property` (e.g. `bookings.dominant_hand`); reset restores them */
  require?: string[]
  logger?: { info(msg: string): void }
}

export interface RunningEmulator {
  url: string
  port: number
  portalId: number
  close(): Promise<void>
  stats(): EmulatorStats
  setFaults(faults: Partial<Faults>): void
  clearFaults(): void
  /** empties the portal (then seeds it when asked), and clears stats, limits and faults */
  reset(seed?: SeedSpec): void
  /** replaces the portal's data with the given seed */
  seed(seed: SeedSpec): void
  /** writes the state to the data dir now (it is also saved shortly after every change) */
  flush(): void
  setSearchLagMs(ms: number): void
  /** changes the account's limits while running (an API add-on raising 190 to 250), as HubSpot's headers then say */
  setLimits(limits: Partial<LimitSettings>): void
  /** creates of `objectType` without these properties get HubSpot's 400 VALIDATION_ERROR */
  requireProperties(objectType: string, properties: string[]): void
  clearValidation(): void
}

/** Bookings one POST /_emulator/seed or /reset may ask for (the CLI's --seed allows more). */
const MAX_HTTP_SEED = 1_000_000

export function parseSeed(raw: unknown): SeedSpec {
  if (raw === 'demo' || raw === 'none') return raw
  const n = typeof raw === 'number' ? raw : typeof raw === 'string' && /^\d+$/.test(raw) ? Number(raw) : NaN
  if (!Number.isInteger(n) || n < 0 || n > 5_000_000)
    throw new Error(`seed must be "demo", "none" or a number of bookings, got ${String(raw)}`)
  return n
}

function parseFaults(raw: unknown): Partial<Faults> {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw))
    throw validationError('faults must be a JSON object')
  const out: Partial<Faults> = {}
  for (const [key, value] of Object.entries(raw)) {
    if (!(key in NO_FAULTS)) throw validationError(`Unknown fault: ${key}`)
    const isRate = key.startsWith('rate') || key === 'timeoutRate'
    if (typeof value !== 'number' || value < 0 || (isRate && value > 1)) {
      throw validationError(`${key} must be a number ${isRate ? 'from 0 to 1' : '>= 0'}`)
    }
    out[key as keyof Faults] = value
  }
  return out
}

/** `bookings.dominant_hand` → the object type and the property. */
export function parseRequirement(spec: string): { objectType: string; property: string } {
  const dot = spec.indexOf('.')
  if (dot <= 0 || dot === spec.length - 1)
    throw new Error(`--require takes objectType.property (e.g. bookings.dominant_hand), got "${spec}"`)
  return { objectType: spec.slice(0, dot), property: spec.slice(dot + 1) }
}

function parseValidationBody(raw: unknown): { objectType: string; required: string[] } {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw))
    throw validationError(
      'validation rules must be a JSON object: {"objectType": "bookings", "required": ["dominant_hand"]}',
    )
  const { objectType, required } = raw as Record<string, unknown>
  if (typeof objectType !== 'string' || objectType === '')
    throw validationError('objectType must be a non-empty string')
  if (!Array.isArray(required) || required.length === 0 || required.some((p) => typeof p !== 'string' || p === ''))
    throw validationError('required must be a non-empty array of property names')
  return { objectType, required: required as string[] }
}

export async function startEmulator(options: EmulatorOptions = {}): Promise<RunningEmulator> {
  const portalId = options.portalId ?? DEFAULT_PORTAL_ID
  const store = new Store(options.searchLagMs ?? 0)
  const resolveType = objectTypeResolver(portalId)
  const validation = new ValidationRules()
  const requireProperties = (objectType: string, properties: string[]): void => {
    const def = resolveType(objectType)
    if (!def) throw validationError(`Unable to infer object type from: ${objectType.slice(0, 100)}`)
    validation.require(def, properties)
  }
  const startupRules = (): void => {
    validation.clear()
    for (const spec of options.require ?? []) {
      const { objectType, property } = parseRequirement(spec)
      requireProperties(objectType, [property])
    }
  }
  startupRules()
  const persistence = options.dataDir ? new Persistence(options.dataDir, store) : null
  if (!persistence?.load()) seedStore(store, parseSeed(options.seed ?? 'none'))
  persistence?.save()
  persistence?.start()

  let server: EmulatorServer
  const api = {
    stats: (): EmulatorStats => ({
      ...server.stats,
      byFamily: { ...server.stats.byFamily },
      dailyUsed: server.limiter.usage(Date.now()).dailyUsed,
    }),
    setFaults: (faults: Partial<Faults>): void => {
      server.faults = { ...server.faults, ...faults }
    },
    clearFaults: (): void => {
      server.faults = { ...NO_FAULTS }
    },
    seed: (seed: SeedSpec): void => {
      store.clear()
      seedStore(store, seed)
    },
    reset: (seed: SeedSpec = 'none'): void => {
      api.seed(seed)
      server.resetStats()
      server.limiter.reset()
      api.clearFaults()
      startupRules()
    },
  }
  /** Seeds over HTTP a few exams per event-loop turn: the embedded emulator shares the API's process. */
  let seeding = false
  const seedOverHttp = async (seed: SeedSpec, reset: boolean): Promise<Reply> => {
    if (seeding) throw new HsError(409, 'CONFLICT', 'a seed is already running; wait for its answer')
    seeding = true
    try {
      return await seedNow(seed, reset)
    } finally {
      seeding = false
    }
  }
  const seedNow = async (seed: SeedSpec, reset: boolean): Promise<Reply> => {
    store.clear()
    if (reset) {
      server.resetStats()
      server.limiter.reset()
      api.clearFaults()
      startupRules()
    }
    await seedStoreGradually(store, seed)
    return { status: 200, body: { ok: true, objects: store.byId.size } }
  }
  const admin = (method: string, path: string, body: unknown): Reply | Promise<Reply> | null => {
    const key = `${method} ${path}`
    const seedOf = (fallback: SeedSpec): SeedSpec => {
      const raw = (body as { seed?: unknown } | undefined)?.seed
      let seed: SeedSpec
      try {
        seed = raw === undefined ? fallback : parseSeed(raw)
      } catch (error) {
        throw validationError((error as Error).message)
      }
      if (typeof seed === 'number' && seed > MAX_HTTP_SEED)
        throw validationError(`seed: at most ${MAX_HTTP_SEED} bookings over HTTP (use --seed at start for more)`)
      return seed
    }
    switch (key) {
      case 'GET /_emulator/stats':
        return { status: 200, body: api.stats() }
      case 'GET /_emulator/health':
        return { status: 200, body: { ok: true } }
      case 'GET /_emulator/config':
        return { status: 200, body: config() }
      case 'POST /_emulator/reset':
        return seedOverHttp(seedOf('none'), true)
      case 'POST /_emulator/seed':
        return seedOverHttp(seedOf('demo'), false)
      case 'GET /_emulator/faults':
        return { status: 200, body: server.faults }
      case 'POST /_emulator/faults':
        api.setFaults(parseFaults(body ?? {}))
        return { status: 200, body: server.faults }
      case 'DELETE /_emulator/faults':
        api.clearFaults()
        return { status: 200, body: server.faults }
      case 'GET /_emulator/validation':
        return { status: 200, body: { required: validation.list() } }
      case 'POST /_emulator/validation': {
        const rule = parseValidationBody(body)
        requireProperties(rule.objectType, rule.required)
        return { status: 200, body: { required: validation.list() } }
      }
      case 'DELETE /_emulator/validation':
        validation.clear()
        return { status: 200, body: { required: validation.list() } }
      default:
        if (path.startsWith('/_emulator/')) {
          if (['stats', 'health', 'config', 'reset', 'seed', 'faults', 'validation'].includes(path.slice(11))) {
            throw new HsError(405, null, `HTTP ${method} is not supported by this endpoint`)
          }
        }
        return null
    }
  }
  const config = (): Record<string, unknown> => ({
    portalId,
    objectTypes: Object.fromEntries(OBJECT_DEFS.map((d) => [d.name, d.objectTypeId])),
    limits: server.limiter.settings,
    searchLagMs: store.searchLagMs,
  })
  const host = options.host ?? '127.0.0.1'
  server = new EmulatorServer({
    store,
    validation,
    portalId,
    admin,
    host,
    token: options.token ?? null,
    limits: {
      rateLimit10s: options.rateLimit10s ?? 190,
      searchRatePerSecond: options.searchRatePerSecond ?? 5,
      dailyLimit: options.dailyLimit ?? 1_000_000,
    },
  })

  await new Promise<void>((ok, fail) => {
    server.server.once('error', fail)
    server.server.listen(options.port ?? 0, host, () => ok())
  })
  const address = server.server.address()
  const port = typeof address === 'object' && address ? address.port : (options.port ?? 0)
  const url = `http://${host.includes(':') ? `[${host}]` : host}:${port}`
  options.logger?.info(`HubSpot emulator listening on ${url}`)

  return {
    url,
    port,
    portalId,
    ...api,
    flush: () => persistence?.save(),
    requireProperties,
    clearValidation: () => validation.clear(),
    setLimits: (limits: Partial<LimitSettings>) => {
      server.limiter.settings = { ...server.limiter.settings, ...limits }
    },
    setSearchLagMs: (ms: number) => {
      store.settleViews(Number.MAX_SAFE_INTEGER)
      store.searchLagMs = ms
    },
    close: async () => {
      server.dropHeld()
      persistence?.stop()
      await new Promise<void>((ok) => {
        server.server.close(() => ok())
        server.server.closeAllConnections()
      })
    },
  }
}

function flag(argv: string[], name: string): string | undefined {
  const i = argv.indexOf(name)
  if (i >= 0) return argv[i + 1]
  const inline = argv.find((a) => a.startsWith(`${name}=`))
  return inline?.slice(name.length + 1)
}

/** Every value of a repeatable flag (`--require a.b --require c.d`, or comma-separated). */
function flags(argv: string[], name: string): string[] {
  const out: string[] = []
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === name && argv[i + 1] !== undefined) out.push(argv[++i]!)
    else if (argv[i]!.startsWith(`${name}=`)) out.push(argv[i]!.slice(name.length + 1))
  }
  return out.flatMap((v) => v.split(',')).filter((v) => v !== '')
}

function intFlag(argv: string[], name: string, envValue: string | undefined, fallback: number): number {
  const raw = flag(argv, name) ?? envValue
  if (raw === undefined || raw === '') return fallback
  const n = Number(raw)
  if (!Number.isInteger(n) || n < 0) throw new Error(`${name} must be a non-negative integer, got "${raw}"`)
  return n
}

/** `hubmirror emulator --port N [--data-dir D|none] [--seed demo|none|N] [--token T] [--rate-limit-10s R] [--require type.prop] ...` */
export async function runEmulatorCli(argv: string[]): Promise<RunningEmulator> {
  const env = process.env
  const dataDirFlag = flag(argv, '--data-dir')
  const dataDir =
    dataDirFlag === 'none'
      ? null
      : resolve(dataDirFlag ?? join(env.HUBMIRROR_DATA_DIR?.trim() || './.hubmirror', 'emulator'))
  const emulator = await startEmulator({
    port: intFlag(argv, '--port', undefined, 0),
    host: flag(argv, '--host') ?? '127.0.0.1',
    dataDir,
    seed: parseSeed(flag(argv, '--seed') ?? 'demo'),
    token: flag(argv, '--token') ?? null,
    rateLimit10s: intFlag(argv, '--rate-limit-10s', env.HUBSPOT_RATE_LIMIT_10S, 190),
    searchRatePerSecond: intFlag(argv, '--search-rate-s', env.HUBSPOT_SEARCH_RATE_S, 5),
    dailyLimit: intFlag(argv, '--daily-limit', env.HUBSPOT_DAILY_LIMIT, 1_000_000),
    searchLagMs: intFlag(argv, '--search-lag-ms', undefined, 0),
    portalId: intFlag(argv, '--portal-id', undefined, DEFAULT_PORTAL_ID),
    require: flags(argv, '--require'),
  })
  console.log(`HubSpot emulator: ${emulator.url}`)
  console.log(
    `  mock_exams ${MOCK_EXAMS_OBJECT_TYPE_ID}, bookings ${BOOKINGS_OBJECT_TYPE_ID}; data: ${dataDir ?? 'in memory'}`,
  )
  const stop = (): void => {
    void emulator.close().then(() => process.exit(0))
  }
  process.once('SIGINT', stop)
  process.once('SIGTERM', stop)
  const close = emulator.close
  return {
    ...emulator,
    close: async () => {
      process.off('SIGINT', stop)
      process.off('SIGTERM', stop)
      await close()
    },
  }
}

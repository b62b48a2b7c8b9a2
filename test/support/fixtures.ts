// Builders of replica records and an app over a fresh database, for cross-component tests.
import type { LightMyRequestResponse } from 'fastify'
import { afterAll, beforeAll, beforeEach } from 'vitest'
import type { App, AppOptions } from '../../src/app.js'
import { createApp } from '../../src/app.js'
import { startEmulator, type EmulatorOptions, type RunningEmulator } from '../../src/emulator/index.js'
import type { Config } from '../../src/config/index.js'
import { issueToken, PERMISSIONS } from '../../src/http/jwt.js'
import { freshDatabase, testConfig, type TestConfigOptions, type TestDatabase } from './env.js'

export { makeBooking, makeExam } from './records.js'

export const allPermissionsToken = (config: Config) => issueToken(config.jwtSecret, PERMISSIONS)
export const bearer = (token: string) => ({ authorization: `Bearer ${token}` })

export interface TestApp {
  app: App
  database: TestDatabase
  token: string
  /** The emulator the app talks to, when started with one. */
  emulator: RunningEmulator | null
  /** Calls the app's HTTP API in-process (Fastify inject), as the test token unless told otherwise. */
  api(
    method: string,
    url: string,
    payload?: unknown,
    headers?: Record<string, string>,
    token?: string,
  ): Promise<LightMyRequestResponse>
  close(): Promise<void>
}

export interface TestAppOptions extends TestConfigOptions {
  /** Share one database between instances. */
  database?: TestDatabase
  /** Start an in-memory HubSpot emulator for this app (true: empty), or use a running one. */
  emulator?: boolean | EmulatorOptions | RunningEmulator
  /** Realtime hub tuning (heartbeat, safety poll, retention). */
  realtime?: AppOptions['realtime']
}

/** A quiet in-memory emulator with the product's default limits unless told otherwise. */
export function startTestEmulator(options: EmulatorOptions = {}): Promise<RunningEmulator> {
  return startEmulator({ port: 0, dataDir: null, seed: 'none', ...options })
}

async function resolveEmulator(
  option: TestAppOptions['emulator'],
): Promise<{ emulator: RunningEmulator | null; owned: boolean }> {
  if (!option) return { emulator: null, owned: false }
  if (typeof option === 'object' && 'url' in option) return { emulator: option, owned: false }
  return { emulator: await startTestEmulator(option === true ? {} : option), owned: true }
}

/** An app over its own database; pass `database` to share one between instances. */
export async function startTestApp(options: TestAppOptions = {}): Promise<TestApp> {
  const database = options.database ?? (await freshDatabase())
  const { emulator, owned } = await resolveEmulator(options.emulator)
  const config = testConfig({ ...options, databaseUrl: database.url })
  const hubspot = emulator
    ? { baseUrl: emulator.url, accessToken: 'test-token', retry: { deadlineMs: 8_000 } }
    : undefined
  const app = await createApp({ config, inMemoryDb: true, webDist: null, hubspot, realtime: options.realtime })
  const token = allPermissionsToken(config)
  return {
    app,
    database,
    emulator,
    token,
    api: (method, url, payload, headers = {}, as = token) =>
      app.http.inject({
        method: method as 'POST',
        url,
        headers: { ...bearer(as), ...headers },
        ...(payload === undefined ? {} : { payload: payload as object }),
      }),
    async close() {
      await app.close()
      if (owned) await emulator?.close()
      if (!options.database) await database.drop()
    },
  }
}

/**
 * One app with the HubSpot emulator for a whole describe block: started before its tests, closed
 * after them, the emulator's faults cleared before each test (a test that injects faults cannot
 * leak them into the next). What it returns stands for the app once started: tests use it as
 * they would the app itself (`t.api(...)`, `t.emulator`).
 */
export function emulatorAppPerSuite(): TestApp {
  let current: TestApp | undefined
  beforeAll(async () => {
    current = await startTestApp({ emulator: true })
  })
  afterAll(() => current?.close())
  beforeEach(() => current?.emulator?.clearFaults())
  return standIn(() => current)
}

/**
 * Two instances over one fresh database (and one emulator, when `emulator` is given) for a whole
 * describe block, as two servers of one deployment: started before its tests, closed after them.
 * Other options go to both instances alike.
 */
export function twoAppsPerSuite(
  options: Omit<TestAppOptions, 'database' | 'emulator'> & { emulator?: EmulatorOptions } = {},
): { a: TestApp; b: TestApp } {
  const { emulator: emulatorOptions, ...appOptions } = options
  let database: TestDatabase | undefined
  let emulator: RunningEmulator | undefined
  let a: TestApp | undefined
  let b: TestApp | undefined
  beforeAll(async () => {
    database = await freshDatabase()
    if (emulatorOptions) emulator = await startTestEmulator(emulatorOptions)
    a = await startTestApp({ ...appOptions, database, emulator })
    b = await startTestApp({ ...appOptions, database, emulator })
  })
  afterAll(async () => {
    await a?.close()
    await b?.close()
    await emulator?.close()
    await database?.drop()
  })
  return { a: standIn(() => a), b: standIn(() => b) }
}

/** What stands for an app once beforeAll has started it: tests use it as they would the app itself. */
function standIn(current: () => TestApp | undefined): TestApp {
  return new Proxy({} as TestApp, {
    get(_, key) {
      const app = current()
      if (!app) throw new Error('the app is used before beforeAll started it')
      return Reflect.get(app, key)
    },
  })
}

// Builders of replica records and an app over a fresh database, for cross-component tests.
import type { LightMyRequestResponse } from 'fastify'
import type { App, AppOptions } from '../../src/app.js'
import { createApp } from '../../src/app.js'
import { startEmulator, type EmulatorOptions, type RunningEmulator } from '../../src/emulator/index.js'
import type { Config } from '../../src/config/index.js'
import { issueToken, PERMISSIONS } from '../../src/http/jwt.js'
import type { BookingRecord, ExamRecord } from '../../src/model/records.js'
import { freshDatabase, testConfig, type TestConfigOptions, type TestDatabase } from './env.js'

let nextId = 1000
const newId = () => String(nextId++)

export function makeExam(overrides: Partial<ExamRecord> = {}): ExamRecord {
  const now = new Date().toISOString()
  return {
    hubspot_id: newId(),
    mock_exam_name: 'Clinical Skills — Mississauga',
    mock_type: 'Clinical Skills',
    exam_date: '2026-12-05',
    start_time: '09:00',
    end_time: '12:00',
    location: 'Mississauga',
    capacity: 10,
    total_bookings: 0,
    is_active: 'true',
    created_at: now,
    updated_at: now,
    hs_lastmodifieddate: now,
    deleted_at: null,
    ...overrides,
  }
}

export function makeBooking(exam: ExamRecord, overrides: Partial<BookingRecord> = {}): BookingRecord {
  const now = new Date().toISOString()
  const id = newId()
  return {
    hubspot_id: id,
    booking_id: `bk-${id}`,
    mock_exam_id: exam.hubspot_id,
    contact_id: null,
    student_id: `S${id}`,
    student_name: `Student ${id}`,
    student_email: `student${id}@example.com`,
    booking_status: 'confirmed',
    is_active: 'true',
    attendance: null,
    attending_location: exam.location,
    exam_date: exam.exam_date,
    dominant_hand: 'right',
    created_at: now,
    updated_at: now,
    hs_lastmodifieddate: now,
    deleted_at: null,
    ...overrides,
  }
}

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

// Helpers for the sync tests: edit HubSpot (the emulator) directly, and compare the replica with it exactly.
import { setTimeout as sleep } from 'node:timers/promises'
import { expect } from 'vitest'
import { BOOKINGS_OBJECT_TYPE_ID, MOCK_EXAMS_OBJECT_TYPE_ID, type RunningEmulator } from '../../src/emulator/index.js'
import {
  bookingFromHubSpot,
  BOOKING_PROPERTIES,
  EXAM_PROPERTIES,
  examFromHubSpot,
  type HubSpotObject,
} from '../../src/hubspot/index.js'
import type { Queryable } from '../../src/replica/index.js'

export type Kind = 'exams' | 'bookings'
export const OBJECT_TYPE: Record<Kind, string> = { exams: MOCK_EXAMS_OBJECT_TYPE_ID, bookings: BOOKINGS_OBJECT_TYPE_ID }
const TABLE: Record<Kind, string> = { exams: 'public.hubspot_mock_exams', bookings: 'public.hubspot_bookings' }

/** "A person in HubSpot's screens": its own token, so its calls do not use the app's rate window. */
export async function hubspot<T = Record<string, unknown>>(
  emulator: RunningEmulator | { url: string },
  method: string,
  path: string,
  body?: unknown,
): Promise<T> {
  const response = await fetch(emulator.url + path, {
    method,
    headers: { authorization: 'Bearer person-in-hubspot', 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  })
  const text = await response.text()
  if (!response.ok) throw new Error(`${method} ${path} → ${response.status} ${text}`)
  return (text ? JSON.parse(text) : {}) as T
}

export async function listAll(emulator: RunningEmulator | { url: string }, kind: Kind): Promise<HubSpotObject[]> {
  const properties = (kind === 'exams' ? EXAM_PROPERTIES : BOOKING_PROPERTIES).join(',')
  const all: HubSpotObject[] = []
  let after = ''
  for (;;) {
    const page = await hubspot<{ results: HubSpotObject[]; paging?: { next: { after: string } } }>(
      emulator,
      'GET',
      `/crm/v3/objects/${OBJECT_TYPE[kind]}?limit=100&properties=${properties}${after ? `&after=${after}` : ''}`,
    )
    all.push(...page.results)
    if (!page.paging) return all
    after = page.paging.next.after
  }
}

export const updateObject = (emulator: RunningEmulator, kind: Kind, id: string, properties: Record<string, string>) =>
  hubspot<HubSpotObject>(emulator, 'PATCH', `/crm/v3/objects/${OBJECT_TYPE[kind]}/${id}`, { properties })
export const createObject = (emulator: RunningEmulator, kind: Kind, properties: Record<string, string>) =>
  hubspot<HubSpotObject>(emulator, 'POST', `/crm/v3/objects/${OBJECT_TYPE[kind]}`, { properties })
export const archiveObject = (emulator: RunningEmulator, kind: Kind, id: string) =>
  hubspot(emulator, 'DELETE', `/crm/v3/objects/${OBJECT_TYPE[kind]}/${id}`)

const TIME_FIELDS = new Set(['created_at', 'updated_at', 'hs_lastmodifieddate', 'deleted_at', 'exam_date'])

/** Dates and times compare as instants: Postgres and HubSpot spell the same instant differently. */
function normalise(record: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {}
  for (const [key, value] of Object.entries(record)) {
    if (key === 'id' || key === 'synced_at') continue
    out[key] =
      TIME_FIELDS.has(key) && typeof value === 'string'
        ? new Date(value.length === 10 ? `${value}T00:00:00Z` : value).toISOString()
        : value
  }
  return out
}

export async function replicaLive(db: Queryable, kind: Kind): Promise<Map<string, Record<string, unknown>>> {
  const { rows } = await db.query<{ row: Record<string, unknown> }>(
    `SELECT to_jsonb(t) AS row FROM ${TABLE[kind]} t WHERE deleted_at IS NULL`,
  )
  return new Map(rows.map(({ row }) => [String(row.hubspot_id), normalise(row)]))
}

/** Every live HubSpot object is in the replica with exactly the mapped values, and nothing else is live there. */
export async function expectReplicaMatches(db: Queryable, emulator: RunningEmulator | { url: string }): Promise<void> {
  for (const kind of ['exams', 'bookings'] as const) {
    const objects = await listAll(emulator, kind)
    const expected = new Map(
      objects.map((object) => [
        object.id,
        normalise({ ...(kind === 'exams' ? examFromHubSpot(object) : bookingFromHubSpot(object)) }),
      ]),
    )
    const actual = await replicaLive(db, kind)
    expect([...actual.keys()].sort(), `${kind} ids`).toEqual([...expected.keys()].sort())
    for (const [id, record] of expected) expect(actual.get(id), `${kind} ${id}`).toEqual(record)
  }
}

export { sleep }

/** Polls until check passes or the time is up; returns how long it took. */
export async function within(ms: number, check: () => Promise<boolean>): Promise<number> {
  const started = Date.now()
  while (!(await check())) {
    if (Date.now() - started > ms) throw new Error(`not within ${ms} ms`)
    await sleep(20)
  }
  return Date.now() - started
}

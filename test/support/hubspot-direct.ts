// The one way tests call HubSpot (the emulator) directly, as a person in HubSpot's screens would: its own token, so its calls never spend the app's rate window.
import { BOOKINGS_OBJECT_TYPE_ID, MOCK_EXAMS_OBJECT_TYPE_ID } from '../../src/emulator/index.js'
import type { HubSpotObject } from '../../src/hubspot/index.js'

export type Kind = 'exams' | 'bookings'
export const OBJECT_TYPE: Record<Kind, string> = { exams: MOCK_EXAMS_OBJECT_TYPE_ID, bookings: BOOKINGS_OBJECT_TYPE_ID }

type Target = string | { url: string }
const baseUrl = (target: Target) => (typeof target === 'string' ? target : target.url)

/** A JSON call to the emulator; throws with the status and body on anything but 2xx. */
export async function hubspot<T = Record<string, unknown>>(
  target: Target,
  method: string,
  path: string,
  body?: unknown,
  token = 'person-in-hubspot',
): Promise<T> {
  const response = await fetch(baseUrl(target) + path, {
    method,
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  })
  const text = await response.text()
  if (!response.ok) throw new Error(`emulator ${method} ${path} → ${response.status} ${text.slice(0, 300)}`)
  return (text ? JSON.parse(text) : {}) as T
}

/** A JSON call answered as it came, status and parsed body: for tests of what the emulator refuses. */
export async function answerOf(
  target: Target,
  method: string,
  path: string,
  body?: unknown,
  token = 't',
): Promise<{ status: number; body: any }> {
  const res = await fetch(baseUrl(target) + path, {
    method,
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  })
  const text = await res.text()
  return { status: res.status, body: text ? JSON.parse(text) : undefined }
}

/** Every live object of a kind, with the given properties, by paging the list endpoint. */
export async function listAll(
  target: Target,
  kind: Kind,
  properties: readonly string[],
  token?: string,
): Promise<HubSpotObject[]> {
  const all: HubSpotObject[] = []
  for (let after = ''; ;) {
    const page = await hubspot<{ results: HubSpotObject[]; paging?: { next: { after: string } } }>(
      target,
      'GET',
      `/crm/v3/objects/${OBJECT_TYPE[kind]}?limit=100&properties=${properties.join(',')}${after ? `&after=${after}` : ''}`,
      undefined,
      token,
    )
    all.push(...page.results)
    if (!page.paging) return all
    after = page.paging.next.after
  }
}

/** The bookings HubSpot's search files under an exam, with these properties (one page: tests keep exams under 200). */
export async function bookingsOfExam(
  target: Target,
  examId: string,
  properties: readonly string[],
): Promise<HubSpotObject[]> {
  const page = await hubspot<{ results: HubSpotObject[] }>(
    target,
    'POST',
    `/crm/v3/objects/${OBJECT_TYPE.bookings}/search`,
    {
      filterGroups: [{ filters: [{ propertyName: 'mock_exam_id', operator: 'EQ', value: examId }] }],
      limit: 200,
      properties,
    },
  )
  return page.results
}

export const createObject = (target: Target, kind: Kind, properties: Record<string, string>, token?: string) =>
  hubspot<HubSpotObject>(target, 'POST', `/crm/v3/objects/${OBJECT_TYPE[kind]}`, { properties }, token)
export const updateObject = (target: Target, kind: Kind, id: string, properties: Record<string, string>) =>
  hubspot<HubSpotObject>(target, 'PATCH', `/crm/v3/objects/${OBJECT_TYPE[kind]}/${id}`, { properties })
export const archiveObject = (target: Target, kind: Kind, id: string) =>
  hubspot(target, 'DELETE', `/crm/v3/objects/${OBJECT_TYPE[kind]}/${id}`)

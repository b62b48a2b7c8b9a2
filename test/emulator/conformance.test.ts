// Drives every emulated endpoint through HubSpot's official Node client, as the sync engine will.
import { Client } from '@hubspot/api-client'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  BOOKINGS_OBJECT_TYPE_ID,
  MOCK_EXAMS_OBJECT_TYPE_ID,
  startEmulator,
  type RunningEmulator,
} from '../../src/emulator/index.js'

let emulator: RunningEmulator
let client: Client

interface ApiError {
  code: number
  body: Record<string, unknown>
}

async function failure(promise: Promise<unknown>): Promise<ApiError> {
  try {
    await promise
  } catch (error) {
    return error as ApiError
  }
  throw new Error('expected the call to fail')
}

beforeAll(async () => {
  emulator = await startEmulator({ seed: 300, rateLimit10s: 100_000, searchRatePerSecond: 1000 })
  client = new Client({ accessToken: 'conformance', basePath: emulator.url, numberOfApiCallRetries: 0 })
})
afterAll(() => emulator.close())

const objects = () => client.crm.objects

function booking(
  n: string,
  extra: Record<string, string> = {},
): { properties: Record<string, string>; associations: [] } {
  return {
    properties: { booking_id: `CONF-${n}`, booking_status: 'confirmed', is_active: 'true', ...extra },
    associations: [],
  }
}

describe('schemas and properties', () => {
  it('lists the custom objects with their 2-… ids', async () => {
    const { results } = await client.crm.schemas.coreApi.getAll()
    const byName = Object.fromEntries(results.map((s) => [s.name, s]))
    expect(byName.mock_exams!.objectTypeId).toBe(MOCK_EXAMS_OBJECT_TYPE_ID)
    expect(byName.bookings!.objectTypeId).toBe(BOOKINGS_OBJECT_TYPE_ID)
    expect(byName.bookings!.fullyQualifiedName).toBe(`p${emulator.portalId}_bookings`)
    expect(results.every((s) => s.objectTypeId?.startsWith('2-'))).toBe(true)
  })

  it('describes properties, with booking_id unique', async () => {
    const { results } = await client.crm.properties.coreApi.getAll('bookings')
    expect(results.find((p) => p.name === 'booking_id')?.hasUniqueValue).toBe(true)
    expect(results.find((p) => p.name === 'exam_date')?.type).toBe('date')
  })
})

describe('objects: list and get', () => {
  it('pages a list with an after cursor until paging disappears', async () => {
    const seen: string[] = []
    let after: string | undefined
    do {
      const page = await objects().basicApi.getPage('mock_exams', 2, after, ['mock_exam_name', 'capacity'])
      seen.push(...page.results.map((r) => r.id))
      expect(page.results.every((r) => typeof r.properties.capacity === 'string')).toBe(true)
      after = page.paging?.next?.after
    } while (after)
    expect(seen).toHaveLength(3)
    expect(new Set(seen).size).toBe(3)
  })

  it('rejects a page larger than 100', async () => {
    const error = await failure(objects().basicApi.getPage('bookings', 101))
    expect(error.code).toBe(400)
    expect(error.body.category).toBe('VALIDATION_ERROR')
  })

  it('addresses an object type by name, p_name, fully qualified name and type id', async () => {
    const spellings = ['mock_exams', 'p_mock_exams', `p${emulator.portalId}_mock_exams`, MOCK_EXAMS_OBJECT_TYPE_ID]
    const ids = await Promise.all(spellings.map(async (t) => (await objects().basicApi.getPage(t, 1)).results[0]!.id))
    expect(new Set(ids).size).toBe(1)
    expect((await objects().basicApi.getPage('0-1', 1)).results).toHaveLength(1)
    const error = await failure(objects().basicApi.getPage('pets', 1))
    expect(error.code).toBe(400)
    expect(error.body.message).toBe('Unable to infer object type from: pets')
  })

  it('gets by id and by a unique idProperty, with default and system properties', async () => {
    const first = (await objects().basicApi.getPage('bookings', 1, undefined, ['booking_id'])).results[0]!
    const byId = await objects().basicApi.getById('bookings', first.id, ['booking_id', 'booking_status', 'nonexistent'])
    expect(byId.properties.hs_object_id).toBe(first.id)
    expect(byId.properties.hs_createdate).toMatch(/^\d{4}-\d{2}-\d{2}T/)
    expect(byId.properties.hs_lastmodifieddate).toBe(byId.updatedAt.toISOString())
    expect(byId.properties).not.toHaveProperty('nonexistent')
    expect(byId.archived).toBe(false)
    const byKey = await objects().basicApi.getById(
      'bookings',
      first.properties.booking_id!,
      undefined,
      undefined,
      undefined,
      false,
      'booking_id',
    )
    expect(byKey.id).toBe(first.id)
    const contact = (await objects().basicApi.getPage('contacts', 1)).results[0]!
    expect(Object.keys(contact.properties)).toEqual(
      expect.arrayContaining(['firstname', 'lastname', 'email', 'createdate', 'lastmodifieddate', 'hs_object_id']),
    )
  })

  it('answers 404 for an absent id', async () => {
    const error = await failure(objects().basicApi.getById('bookings', '999999'))
    expect(error.code).toBe(404)
    expect(error.body.category).toBe('OBJECT_NOT_FOUND')
  })
})

describe('objects: create, update, archive', () => {
  it('creates (201) with string values', async () => {
    const created = await objects().basicApi.create('bookings', booking('create', { exam_date: '2026-07-01' }))
    expect(created.id).toMatch(/^\d+$/)
    expect(created.properties.booking_id).toBe('CONF-create')
    expect(created.properties.exam_date).toBe('2026-07-01')
    const exam = await objects().basicApi.create('mock_exams', {
      properties: { mock_exam_name: 'X', capacity: 40 as unknown as string },
      associations: [],
    })
    expect(exam.properties.capacity).toBe('40')
  })

  it('rejects an unknown property and a non-numeric number with VALIDATION_ERROR', async () => {
    const unknown = await failure(
      objects().basicApi.create('bookings', { properties: { colour: 'red' }, associations: [] }),
    )
    expect(unknown.code).toBe(400)
    expect(unknown.body.category).toBe('VALIDATION_ERROR')
    expect((unknown.body.errors as { code: string }[])[0]!.code).toBe('PROPERTY_DOESNT_EXIST')
    const numeric = await failure(
      objects().basicApi.create('mock_exams', { properties: { capacity: 'forty' }, associations: [] }),
    )
    expect((numeric.body.errors as { code: string }[])[0]!.code).toBe('INVALID_INTEGER')
  })

  it('refuses a duplicate unique value (booking_id, contact email)', async () => {
    await objects().basicApi.create('bookings', booking('dupe'))
    const error = await failure(objects().basicApi.create('bookings', booking('dupe')))
    expect(error.code).toBe(409)
    expect(error.body.category).toBe('CONFLICT')
    const email = (await objects().basicApi.getPage('contacts', 1)).results[0]!.properties.email!
    const contact = await failure(
      objects().basicApi.create('contacts', { properties: { email: email.toUpperCase() }, associations: [] }),
    )
    expect(contact.body.message).toMatch(/^Contact already exists\. Existing ID: \d+$/)
  })

  it('updates with PATCH, clears with an empty string, and always moves hs_lastmodifieddate forward', async () => {
    const created = await objects().basicApi.create('bookings', booking('update', { attendance: 'Yes' }))
    const a = await objects().basicApi.update('bookings', created.id, { properties: { booking_status: 'cancelled' } })
    const b = await objects().basicApi.update('bookings', created.id, { properties: { attendance: '' } })
    expect(a.properties.booking_status).toBe('cancelled')
    const read = await objects().basicApi.getById('bookings', created.id, ['attendance', 'booking_status'])
    expect(read.properties.attendance).toBeNull()
    const times = [created, a, b].map((r) => Date.parse(r.properties.hs_lastmodifieddate!))
    expect(times[1]!).toBeGreaterThan(times[0]!)
    expect(times[2]!).toBeGreaterThan(times[1]!)
    const error = await failure(
      objects().basicApi.update('bookings', created.id, { properties: { hs_object_id: '1' } }),
    )
    expect(error.code).toBe(400)
  })

  it('archives with 204; the record then 404s and is listed only with archived=true', async () => {
    const created = await objects().basicApi.create('bookings', booking('archive'))
    const before = await objects().basicApi.getById('bookings', created.id)
    await objects().basicApi.archive('bookings', created.id)
    expect((await failure(objects().basicApi.getById('bookings', created.id))).code).toBe(404)
    const archived = await objects().basicApi.getPage('bookings', 100, undefined, undefined, undefined, undefined, true)
    const found = archived.results.find((r) => r.id === created.id)!
    expect(found.archived).toBe(true)
    expect(found.archivedAt).toBeInstanceOf(Date)
    expect(found.properties.hs_lastmodifieddate).toBe(before.properties.hs_lastmodifieddate)
    const active = await objects().basicApi.getPage('bookings', 100)
    expect(active.results.every((r) => !r.archived)).toBe(true)
  })
})

describe('objects: batch', () => {
  it('reads a batch, reporting missing ids with 207', async () => {
    const page = await objects().basicApi.getPage('bookings', 3)
    const ids = page.results.map((r) => ({ id: r.id }))
    const ok = await objects().batchApi.read('bookings', {
      inputs: ids,
      properties: ['booking_id'],
      propertiesWithHistory: [],
    })
    expect(ok.results).toHaveLength(3)
    expect(ok.status).toBe('COMPLETE')
    const partial = await objects().batchApi.read('bookings', {
      inputs: [...ids, { id: '1' }],
      properties: [],
      propertiesWithHistory: [],
    })
    expect(partial.results).toHaveLength(3)
    expect((partial as { numErrors?: number }).numErrors).toBe(1)
  })

  it('creates, updates and archives in batches', async () => {
    const created = await objects().batchApi.create('bookings', { inputs: [booking('b1'), booking('b2')] })
    expect(created.results).toHaveLength(2)
    const inputs = created.results.map((r) => ({ id: r.id, properties: { booking_status: 'completed' } }))
    const updated = await objects().batchApi.update('bookings', { inputs })
    expect(updated.results.every((r) => r.properties.booking_status === 'completed')).toBe(true)
    await objects().batchApi.archive('bookings', { inputs: created.results.map((r) => ({ id: r.id })) })
    expect((await failure(objects().basicApi.getById('bookings', created.results[0]!.id))).code).toBe(404)
  })

  it('upserts by a unique idProperty, reporting new', async () => {
    await objects().basicApi.create('bookings', booking('up-old'))
    const result = await objects().batchApi.upsert('bookings', {
      inputs: [
        { id: 'CONF-up-old', idProperty: 'booking_id', properties: { booking_status: 'no_show' } },
        { id: 'CONF-up-new', idProperty: 'booking_id', properties: { booking_status: 'confirmed' } },
      ],
    })
    const byKey = Object.fromEntries(result.results.map((r) => [r.properties.booking_id, r]))
    expect(byKey['CONF-up-old']!._new).toBe(false)
    expect(byKey['CONF-up-old']!.properties.booking_status).toBe('no_show')
    expect(byKey['CONF-up-new']!._new).toBe(true)
  })

  it('refuses more than 100 inputs with a 400', async () => {
    const inputs = Array.from({ length: 101 }, (_, i) => booking(`many-${i}`))
    const error = await failure(objects().batchApi.create('bookings', { inputs }))
    expect(error.code).toBe(400)
    expect(error.body.category).toBe('VALIDATION_ERROR')
    const reads = await failure(
      objects().batchApi.read('bookings', {
        inputs: Array.from({ length: 101 }, (_, i) => ({ id: String(i) })),
        properties: [],
        propertiesWithHistory: [],
      }),
    )
    expect(reads.code).toBe(400)
  })
})

describe('search', () => {
  const doSearch = (type: string, body: Record<string, unknown>) =>
    objects().searchApi.doSearch(type, {
      filterGroups: [],
      sorts: [],
      properties: [],
      limit: 10,
      after: '0',
      ...body,
    } as never)

  it('filters, sorts on hs_lastmodifieddate and pages with after', async () => {
    const exam = (await objects().basicApi.getPage('mock_exams', 1)).results[0]!
    const filterGroups = [{ filters: [{ propertyName: 'mock_exam_id', operator: 'EQ', value: exam.id }] }]
    const sorts = [{ propertyName: 'hs_lastmodifieddate', direction: 'ASCENDING' }]
    const ids: string[] = []
    let after = '0'
    let total = 0
    for (;;) {
      const page = await doSearch('bookings', { filterGroups, sorts, properties: ['mock_exam_id'], limit: 40, after })
      total = page.total
      ids.push(...page.results.map((r) => r.id))
      expect(page.results.every((r) => r.properties.mock_exam_id === exam.id)).toBe(true)
      if (!page.paging?.next?.after) break
      after = page.paging.next.after
    }
    expect(total).toBe(100)
    expect(new Set(ids).size).toBe(100)
  })

  it('supports each of the 13 operators', async () => {
    const f = (operator: string, extra: Record<string, unknown>) => ({
      filterGroups: [{ filters: [{ propertyName: 'booking_status', operator, ...extra }] }],
      limit: 0,
    })
    const totals: Record<string, number> = {}
    const cases: [string, Record<string, unknown>][] = [
      ['EQ', { value: 'confirmed' }],
      ['NEQ', { value: 'confirmed' }],
      ['LT', { value: 'd' }],
      ['LTE', { value: 'confirmed' }],
      ['GT', { value: 'd' }],
      ['GTE', { value: 'confirmed' }],
      ['BETWEEN', { value: 'a', highValue: 'confirmed' }],
      ['IN', { values: ['no_show', 'completed'] }],
      ['NOT_IN', { values: ['confirmed'] }],
      ['HAS_PROPERTY', {}],
      ['NOT_HAS_PROPERTY', {}],
      ['CONTAINS_TOKEN', { value: 'conf*' }],
      ['NOT_CONTAINS_TOKEN', { value: 'confirmed' }],
    ]
    for (const [op, extra] of cases) totals[op] = (await doSearch('bookings', f(op, extra))).total
    const all = (await doSearch('bookings', { limit: 0 })).total
    expect(totals.EQ! + totals.NEQ!).toBe(all)
    expect(totals.HAS_PROPERTY! + totals.NOT_HAS_PROPERTY!).toBe(all)
    expect(totals.CONTAINS_TOKEN).toBe(totals.EQ)
    expect(totals.NOT_CONTAINS_TOKEN).toBe(totals.NEQ)
    expect(totals.IN! + totals.NOT_IN!).toBeGreaterThanOrEqual(totals.NEQ!)
    expect(totals.LT! + totals.GT!).toBe(all - totals.NOT_HAS_PROPERTY!)
    expect(totals.BETWEEN).toBe(totals.LTE)
    expect(totals.GTE).toBe(totals.EQ! + totals.GT!)
  })

  it('answers 400 for a limit over 200, paging past 10,000 and too many filter groups', async () => {
    expect((await failure(doSearch('bookings', { limit: 201 }))).code).toBe(400)
    expect((await failure(doSearch('bookings', { after: '10000' }))).code).toBe(400)
    const f = { filters: [{ propertyName: 'booking_status', operator: 'EQ', value: 'x' }] }
    const error = await failure(doSearch('bookings', { filterGroups: Array(6).fill(f) }))
    expect(error.body.category).toBe('VALIDATION_ERROR')
  })

  it('matches free text with query and never returns archived records', async () => {
    const created = await objects().basicApi.create(
      'bookings',
      booking('query', { student_name: 'Zebedee Quarrington' }),
    )
    expect((await doSearch('bookings', { query: 'quarrington' })).total).toBe(1)
    await objects().basicApi.archive('bookings', created.id)
    expect((await doSearch('bookings', { query: 'quarrington' })).total).toBe(0)
  })
})

describe('associations v4', () => {
  it('creates a default association and reads it one record at a time and in batches', async () => {
    const b = await objects().basicApi.create('bookings', booking('assoc'))
    const exam = (await objects().basicApi.getPage('mock_exams', 1)).results[0]!
    const created = await client.crm.associations.v4.basicApi.createDefault('bookings', b.id, 'mock_exams', exam.id)
    expect(created.results.length).toBeGreaterThan(0)
    const page = await client.crm.associations.v4.basicApi.getPage('bookings', b.id, 'mock_exams')
    expect(page.results.map((r) => String(r.toObjectId))).toEqual([exam.id])
    expect(page.results[0]!.associationTypes[0]!.category).toBe('HUBSPOT_DEFINED')
    const batch = await client.crm.associations.v4.batchApi.getPage('mock_exams', 'bookings', {
      inputs: [{ id: exam.id }],
    })
    const linked = batch.results[0]!.to.map((t) => String(t.toObjectId))
    expect(linked).toContain(b.id)
    expect(linked.length).toBe(101)
  })

  it('creates associations inline on create', async () => {
    const exam = (await objects().basicApi.getPage('mock_exams', 1)).results[0]!
    const typeId = (
      await client.crm.associations.v4.basicApi.getPage(
        'bookings',
        (await objects().basicApi.getPage('bookings', 1)).results[0]!.id,
        'mock_exams',
      )
    ).results[0]!.associationTypes[0]!.typeId
    const b = await objects().basicApi.create('bookings', {
      properties: { booking_id: 'CONF-inline' },
      associations: [
        {
          to: { id: exam.id },
          types: [{ associationCategory: 'HUBSPOT_DEFINED' as never, associationTypeId: typeId }],
        },
      ],
    })
    const withAssoc = await objects().basicApi.getById('bookings', b.id, undefined, undefined, ['mock_exams'])
    expect(withAssoc.associations?.mock_exams?.results[0]!.id).toBe(exam.id)
  })
})

describe('search index lag', () => {
  it('shows a change to search only after the lag, while get and list see it at once', async () => {
    const lagged = await startEmulator({ seed: 'none', searchLagMs: 400, searchRatePerSecond: 100 })
    try {
      const c = new Client({ accessToken: 'lag', basePath: lagged.url, numberOfApiCallRetries: 0 })
      const body = { filterGroups: [], sorts: [], properties: ['booking_id'], limit: 10, after: '0' }
      const created = await c.crm.objects.basicApi.create('bookings', booking('lag'))
      expect((await c.crm.objects.basicApi.getById('bookings', created.id)).id).toBe(created.id)
      expect((await c.crm.objects.basicApi.getPage('bookings', 10)).results).toHaveLength(1)
      expect((await c.crm.objects.searchApi.doSearch('bookings', body)).total).toBe(0)
      await new Promise((r) => setTimeout(r, 450))
      expect((await c.crm.objects.searchApi.doSearch('bookings', body)).total).toBe(1)
    } finally {
      await lagged.close()
    }
  })
})

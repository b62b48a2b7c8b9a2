// Search semantics: each operator, sorting, paging, the result cap and the index lag.
import { describe, expect, it } from 'vitest'
import { HsError } from './errors.js'
import { BOOKINGS, CONTACTS, MOCK_EXAMS } from './schema.js'
import { runSearch, type SearchResult } from './search.js'
import { Store } from './store.js'

function exams(): Store {
  const store = new Store()
  const rows: Record<string, string>[] = [
    {
      mock_exam_name: 'Clinical Skills Calgary',
      mock_type: 'Clinical Skills',
      location: 'Calgary',
      capacity: '40',
      exam_date: '2026-06-01',
    },
    {
      mock_exam_name: 'Mini-mock Online',
      mock_type: 'Mini-mock',
      location: 'Online',
      capacity: '20',
      exam_date: '2026-06-02',
    },
    {
      mock_exam_name: 'Situational Judgment Montreal',
      mock_type: 'Situational Judgment',
      location: 'Montreal',
      capacity: '60',
      exam_date: '2026-06-03',
    },
    { mock_exam_name: 'Mock Discussion', mock_type: 'Mock Discussion', capacity: '100' },
  ]
  rows.forEach((props, i) => store.create(MOCK_EXAMS, props, 1_000 + i))
  return store
}

function names(result: SearchResult): string[] {
  return result.results.map((r) => (r.properties as Record<string, string>).mock_exam_name!)
}

function search(store: Store, body: unknown, now = 10_000): SearchResult {
  return runSearch(store, MOCK_EXAMS, { properties: ['mock_exam_name'], ...(body as object) }, now)
}

function filter(propertyName: string, operator: string, extra: Record<string, unknown> = {}): unknown {
  return { filterGroups: [{ filters: [{ propertyName, operator, ...extra }] }] }
}

describe('search operators', () => {
  const store = exams()
  const cases: [string, unknown, string[]][] = [
    ['EQ is case-insensitive', filter('location', 'EQ', { value: 'calgary' }), ['Clinical Skills Calgary']],
    [
      'NEQ includes records without the property',
      filter('location', 'NEQ', { value: 'Calgary' }),
      ['Mini-mock Online', 'Situational Judgment Montreal', 'Mock Discussion'],
    ],
    ['LT on numbers is numeric', filter('capacity', 'LT', { value: '40' }), ['Mini-mock Online']],
    ['LTE', filter('capacity', 'LTE', { value: '40' }), ['Clinical Skills Calgary', 'Mini-mock Online']],
    ['GT', filter('capacity', 'GT', { value: '40' }), ['Situational Judgment Montreal', 'Mock Discussion']],
    ['GTE', filter('capacity', 'GTE', { value: '60' }), ['Situational Judgment Montreal', 'Mock Discussion']],
    [
      'BETWEEN is inclusive',
      filter('capacity', 'BETWEEN', { value: '20', highValue: '40' }),
      ['Clinical Skills Calgary', 'Mini-mock Online'],
    ],
    [
      'BETWEEN on dates takes epoch ms',
      filter('exam_date', 'BETWEEN', { value: String(Date.UTC(2026, 5, 2)), highValue: String(Date.UTC(2026, 5, 3)) }),
      ['Mini-mock Online', 'Situational Judgment Montreal'],
    ],
    [
      'IN needs lowercase string values',
      filter('location', 'IN', { values: ['online', 'montreal'] }),
      ['Mini-mock Online', 'Situational Judgment Montreal'],
    ],
    ['IN with capitals matches nothing', filter('location', 'IN', { values: ['Online'] }), []],
    [
      'NOT_IN',
      filter('location', 'NOT_IN', { values: ['online'] }),
      ['Clinical Skills Calgary', 'Situational Judgment Montreal', 'Mock Discussion'],
    ],
    [
      'HAS_PROPERTY',
      filter('location', 'HAS_PROPERTY'),
      ['Clinical Skills Calgary', 'Mini-mock Online', 'Situational Judgment Montreal'],
    ],
    ['NOT_HAS_PROPERTY', filter('location', 'NOT_HAS_PROPERTY'), ['Mock Discussion']],
    [
      'CONTAINS_TOKEN matches a word',
      filter('mock_exam_name', 'CONTAINS_TOKEN', { value: 'skills' }),
      ['Clinical Skills Calgary'],
    ],
    [
      'CONTAINS_TOKEN takes a wildcard',
      filter('mock_exam_name', 'CONTAINS_TOKEN', { value: 'mon*' }),
      ['Situational Judgment Montreal'],
    ],
    [
      'NOT_CONTAINS_TOKEN',
      filter('mock_exam_name', 'NOT_CONTAINS_TOKEN', { value: 'mock' }),
      ['Clinical Skills Calgary', 'Situational Judgment Montreal'],
    ],
    ['an unknown property silently matches nothing', filter('nope', 'EQ', { value: 'x' }), []],
  ]
  for (const [title, body, expected] of cases) it(title, () => expect(names(search(store, body))).toEqual(expected))

  it('ORs groups and ANDs filters within a group', () => {
    const body = {
      filterGroups: [
        {
          filters: [
            { propertyName: 'capacity', operator: 'GTE', value: '40' },
            { propertyName: 'location', operator: 'EQ', value: 'Calgary' },
          ],
        },
        { filters: [{ propertyName: 'location', operator: 'EQ', value: 'Online' }] },
      ],
    }
    expect(names(search(store, body))).toEqual(['Clinical Skills Calgary', 'Mini-mock Online'])
  })

  it('searches free text with query', () => {
    expect(names(search(store, { query: 'montreal judgment' }))).toEqual(['Situational Judgment Montreal'])
  })
})

describe('search sorting and paging', () => {
  it('defaults to creation order, sorts numerically, and breaks ties by id', () => {
    const store = exams()
    expect(names(search(store, {}))[0]).toBe('Clinical Skills Calgary')
    expect(names(search(store, { sorts: [{ propertyName: 'capacity', direction: 'DESCENDING' }] }))).toEqual([
      'Mock Discussion',
      'Situational Judgment Montreal',
      'Clinical Skills Calgary',
      'Mini-mock Online',
    ])
    expect(names(search(store, { sorts: ['-capacity'] }))[0]).toBe('Mock Discussion')
    const list = store.list(MOCK_EXAMS)
    store.update(list[3]!, { capacity: '1' }, 5_000)
    store.update(list[0]!, { capacity: '2' }, 5_000)
    // both changed in the same millisecond: the tie goes to the lower id
    expect(
      names(search(store, { sorts: [{ propertyName: 'hs_lastmodifieddate', direction: 'ASCENDING' }] })).slice(2),
    ).toEqual(['Clinical Skills Calgary', 'Mock Discussion'])
  })

  it('pages by offset and refuses to page past 10,000 results', () => {
    const store = new Store()
    for (let i = 0; i < 25; i++) store.create(BOOKINGS, { booking_id: `B${i}` }, i)
    const first = runSearch(store, BOOKINGS, { limit: 10 }, 100)
    expect(first.total).toBe(25)
    expect(first.paging?.next.after).toBe('10')
    const last = runSearch(store, BOOKINGS, { limit: 10, after: '20' }, 100)
    expect(last.results).toHaveLength(5)
    expect(last.paging).toBeUndefined()
    expect(() => runSearch(store, BOOKINGS, { after: '10000' }, 100)).toThrow(HsError)
    expect(() => runSearch(store, BOOKINGS, { limit: 201 }, 100)).toThrow(HsError)
  })

  it('enforces the filter limits of 5 groups, 6 per group and 18 in total', () => {
    const store = exams()
    const f = { propertyName: 'capacity', operator: 'GT', value: '0' }
    const groups = (n: number, per: number): unknown => ({
      filterGroups: Array.from({ length: n }, () => ({ filters: Array(per).fill(f) })),
    })
    expect(() => search(store, groups(6, 1))).toThrow(HsError)
    expect(() => search(store, groups(1, 7))).toThrow(HsError)
    expect(() => search(store, groups(4, 5))).toThrow(HsError)
    expect(search(store, groups(3, 6)).total).toBe(4)
  })

  it('never returns archived records and compares contact timestamps on lastmodifieddate', () => {
    const store = new Store()
    const a = store.create(CONTACTS, { email: 'a@x.com' }, 1_000)
    store.create(CONTACTS, { email: 'b@x.com' }, 2_000)
    store.archive(a, 3_000)
    expect(runSearch(store, CONTACTS, {}, 5_000).total).toBe(1)
    expect(runSearch(store, CONTACTS, filter('lastmodifieddate', 'GTE', { value: '1500' }), 5_000).total).toBe(1)
    expect(runSearch(store, CONTACTS, filter('hs_lastmodifieddate', 'GTE', { value: '1500' }), 5_000).total).toBe(0)
  })
})

describe('search index lag', () => {
  it('shows a change only after the lag, and the earlier version until then', () => {
    const store = new Store(1_000)
    const rec = store.create(MOCK_EXAMS, { mock_exam_name: 'v1' }, 10_000)
    expect(runSearch(store, MOCK_EXAMS, {}, 10_500).total).toBe(0)
    expect(runSearch(store, MOCK_EXAMS, {}, 11_000).total).toBe(1)
    store.update(rec, { mock_exam_name: 'v2' }, 12_000)
    expect(names(search(store, {}, 12_500))).toEqual(['v1'])
    expect(names(search(store, {}, 13_000))).toEqual(['v2'])
    store.archive(rec, 14_000)
    expect(search(store, {}, 14_100).total).toBe(1)
    expect(search(store, {}, 15_000).total).toBe(0)
  })
})

describe('id ranges', () => {
  it('answers a search bounded by hs_object_id exactly as a full scan would, in every group shape', () => {
    const store = new Store()
    for (let i = 0; i < 300; i++)
      store.create(BOOKINGS, { booking_id: `B${i}`, is_active: i % 3 ? 'true' : 'false' }, i)
    const ids = store.list(BOOKINGS).map((r) => r.num)
    const id = (i: number) => String(ids[i])
    const bodies = [
      { filterGroups: [{ filters: [{ propertyName: 'hs_object_id', operator: 'GTE', value: id(50) }] }] },
      {
        filterGroups: [
          {
            filters: [
              { propertyName: 'hs_object_id', operator: 'GT', value: id(10) },
              { propertyName: 'hs_object_id', operator: 'LTE', value: id(120) },
              { propertyName: 'is_active', operator: 'EQ', value: 'true' },
            ],
          },
        ],
      },
      {
        filterGroups: [
          { filters: [{ propertyName: 'hs_object_id', operator: 'LT', value: id(20) }] },
          { filters: [{ propertyName: 'hs_object_id', operator: 'EQ', value: id(250) }] },
        ],
      },
      // One group unbounded: the whole list is scanned.
      {
        filterGroups: [
          { filters: [{ propertyName: 'hs_object_id', operator: 'LT', value: id(5) }] },
          { filters: [{ propertyName: 'is_active', operator: 'EQ', value: 'false' }] },
        ],
      },
    ]
    for (const body of bodies) {
      for (const sorts of [undefined, [{ propertyName: 'hs_object_id', direction: 'ASCENDING' }], ['-hs_object_id']]) {
        const result = runSearch(store, BOOKINGS, { ...body, sorts, limit: 200, properties: ['booking_id'] }, 1e6)
        const expected = store
          .list(BOOKINGS)
          .filter((r) =>
            body.filterGroups.some((g) =>
              g.filters.every((f) => {
                const value = f.propertyName === 'hs_object_id' ? r.num : r.props[f.propertyName]
                const want = f.propertyName === 'hs_object_id' ? Number(f.value) : f.value
                return f.operator === 'EQ'
                  ? value === want
                  : f.operator === 'GT'
                    ? value! > want
                    : f.operator === 'GTE'
                      ? value! >= want
                      : f.operator === 'LT'
                        ? value! < want
                        : value! <= want
              }),
            ),
          )
          .map((r) => r.id)
        if (Array.isArray(sorts) && sorts[0] === '-hs_object_id') expected.reverse()
        expect(result.total, JSON.stringify(body)).toBe(expected.length)
        expect(result.results.map((r) => r.id)).toEqual(expected.slice(0, 200))
      }
    }
  })
})

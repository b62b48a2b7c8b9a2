// CRM search: HubSpot's filter groups, operators, single sort, offset paging and the 10,000-result cap.
import { validationError, type ErrorDetail } from './errors.js'
import { presentView } from './properties.js'
import type { ObjectDef } from './schema.js'
import { lowerBound, type Rec, type Store, type View } from './store.js'

export const SEARCH_LIMITS = {
  groups: 5,
  filtersPerGroup: 6,
  filtersTotal: 18,
  pageSize: 200,
  maxResults: 10_000,
  queryLength: 3000,
}

const OPERATORS = new Set([
  'EQ',
  'NEQ',
  'LT',
  'LTE',
  'GT',
  'GTE',
  'BETWEEN',
  'IN',
  'NOT_IN',
  'HAS_PROPERTY',
  'NOT_HAS_PROPERTY',
  'CONTAINS_TOKEN',
  'NOT_CONTAINS_TOKEN',
])

type Key = number | string | undefined
type Getter = (rec: Rec, view: View) => Key
type Pred = (rec: Rec, view: View) => boolean
type Kind = 'number' | 'time' | 'string'

export interface SearchResult {
  total: number
  results: Record<string, unknown>[]
  paging?: { next: { after: string } }
}

function bad(message: string, code = 'INVALID_SEARCH_REQUEST'): never {
  const errors: ErrorDetail[] = [{ message, code }]
  throw validationError(message, errors)
}

const dateCache = new Map<string, number>()

/** Date properties hold 'YYYY-MM-DD'; they compare as midnight UTC, memoised because few dates recur. */
function dateMs(text: string): number {
  let ms = dateCache.get(text)
  if (ms === undefined) {
    ms = Date.parse(`${text}T00:00:00Z`)
    if (dateCache.size < 100_000) dateCache.set(text, ms)
  }
  return ms
}

function getterFor(def: ObjectDef, name: string): { get: Getter; kind: Kind } {
  if (name === 'hs_object_id') return { get: (rec) => rec.num, kind: 'number' }
  if (name === def.createdProp) return { get: (rec) => rec.createdAt, kind: 'time' }
  if (name === def.modifiedProp) return { get: (_rec, view) => view.updatedAt, kind: 'time' }
  const prop = def.properties.get(name)
  if (prop?.type === 'number') {
    return {
      get: (_rec, view) => {
        const v = view.props[name]
        return v === undefined ? undefined : Number(v)
      },
      kind: 'number',
    }
  }
  if (prop?.type === 'date') {
    return {
      get: (_rec, view) => {
        const v = view.props[name]
        return v === undefined ? undefined : dateMs(v)
      },
      kind: 'time',
    }
  }
  // An unknown property silently matches nothing, as HubSpot's search does (e.g. contacts' hs_lastmodifieddate).
  if (!prop) return { get: () => undefined, kind: 'string' }
  return { get: (_rec, view) => view.props[name], kind: 'string' }
}

function scalar(value: unknown, what: string): string {
  if (typeof value === 'string') return value
  if (typeof value === 'number' || typeof value === 'boolean') return String(value)
  return bad(`${what} must be a string`)
}

/** Filter values for times are epoch ms strings; ISO 8601 and YYYY-MM-DD are accepted too. */
function operand(kind: Kind, raw: unknown, name: string): number | string {
  const text = scalar(raw, `The value for ${name}`)
  if (kind === 'string') return text.toLowerCase()
  const n = kind === 'time' && !/^-?\d+(\.\d+)?$/.test(text.trim()) ? Date.parse(text) : Number(text.trim())
  if (text.trim() === '' || !Number.isFinite(n))
    bad(`${text.slice(0, 100)} is not a valid ${kind === 'time' ? 'date' : 'number'} value for ${name}`)
  return n
}

function lower(key: Key): Key {
  return typeof key === 'string' ? key.toLowerCase() : key
}

/** Glob match with `*`, linear-backtracking (no regex), so a hostile pattern cannot stall the server. */
function glob(pattern: string, text: string): boolean {
  let p = 0
  let t = 0
  let star = -1
  let mark = 0
  while (t < text.length) {
    if (p < pattern.length && pattern[p] !== '*' && pattern[p] === text[t]) {
      p++
      t++
    } else if (p < pattern.length && pattern[p] === '*') {
      star = p++
      mark = t
    } else if (star >= 0) {
      p = star + 1
      t = ++mark
    } else return false
  }
  while (p < pattern.length && pattern[p] === '*') p++
  return p === pattern.length
}

const MAX_TOKEN_PATTERN = 1000

function tokenMatcher(pattern: string): (value: string) => boolean {
  if (pattern.length > MAX_TOKEN_PATTERN) bad(`A token value must be at most ${MAX_TOKEN_PATTERN} characters`)
  const p = pattern.toLowerCase().replace(/\*+/g, '*')
  const tokens = (v: string): string[] => [...v.split(/\s+/), ...v.split(/[^\p{L}\p{N}]+/u)]
  if (!p.includes('*'))
    return (value) => {
      const v = value.toLowerCase()
      return v === p || tokens(v).includes(p)
    }
  return (value) => {
    const v = value.toLowerCase()
    return glob(p, v) || v.split(/\s+/).some((t) => glob(p, t))
  }
}

/** `t` is already lower case; folds ASCII in place and lower-cases only when non-ASCII letters differ. */
function equalsIgnoreCase(v: string, t: string): boolean {
  if (v.length !== t.length) return false
  for (let i = 0; i < v.length; i++) {
    let a = v.charCodeAt(i)
    const b = t.charCodeAt(i)
    if (a === b) continue
    if (a >= 65 && a <= 90) a += 32
    if (a === b) continue
    if (a < 128 && b < 128) return false
    return v.toLowerCase() === t
  }
  return true
}

function equalsFn(get: Getter, kind: Kind, target: number | string): Pred {
  if (kind !== 'string') return (rec, view) => get(rec, view) === target
  const t = target as string
  return (rec, view) => {
    const v = get(rec, view) as string | undefined
    return v !== undefined && (v === t || equalsIgnoreCase(v, t))
  }
}

function compileFilter(def: ObjectDef, filter: unknown): Pred {
  if (typeof filter !== 'object' || filter === null || Array.isArray(filter)) bad('Each filter must be an object')
  const f = filter as Record<string, unknown>
  if (typeof f.propertyName !== 'string' || !f.propertyName) bad('A filter needs a propertyName')
  const name = f.propertyName
  const operator = f.operator ?? 'EQ'
  if (typeof operator !== 'string' || !OPERATORS.has(operator))
    bad(`Unknown filter operator: ${String(operator)}`, 'INVALID_OPERATOR')
  const { get, kind } = getterFor(def, name)
  const need = (key: 'value' | 'highValue'): number | string => {
    if (f[key] === undefined || f[key] === null) bad(`Operator ${operator} on ${name} needs a ${key}`)
    return operand(kind, f[key], name)
  }
  const list = (): Set<number | string> => {
    if (!Array.isArray(f.values) || f.values.length === 0)
      bad(`Operator ${operator} on ${name} needs a non-empty values array`)
    // Strings compare against the lower-cased stored value as given: HubSpot requires lowercase IN values.
    return new Set(
      (f.values as unknown[]).map((v) =>
        kind === 'string' ? scalar(v, `A value for ${name}`) : operand(kind, v, name),
      ),
    )
  }
  const has = (rec: Rec, view: View): boolean => {
    const v = get(rec, view)
    return v !== undefined && v !== ''
  }
  const cmp =
    (test: (v: number | string) => boolean): Pred =>
    (rec, view) => {
      const v = lower(get(rec, view))
      return v !== undefined && test(v)
    }
  switch (operator) {
    case 'EQ':
      return equalsFn(get, kind, need('value'))
    case 'NEQ': {
      const eq = equalsFn(get, kind, need('value'))
      return (rec, view) => !eq(rec, view)
    }
    case 'LT': {
      const t = need('value')
      return cmp((v) => v < t)
    }
    case 'LTE': {
      const t = need('value')
      return cmp((v) => v <= t)
    }
    case 'GT': {
      const t = need('value')
      return cmp((v) => v > t)
    }
    case 'GTE': {
      const t = need('value')
      return cmp((v) => v >= t)
    }
    case 'BETWEEN': {
      const lo = need('value')
      const hi = need('highValue')
      return cmp((v) => v >= lo && v <= hi)
    }
    case 'IN': {
      const set = list()
      return cmp((v) => set.has(v))
    }
    case 'NOT_IN': {
      const set = list()
      return (rec, view) => {
        const v = lower(get(rec, view))
        return v === undefined || !set.has(v)
      }
    }
    case 'HAS_PROPERTY':
      return has
    case 'NOT_HAS_PROPERTY':
      return (rec, view) => !has(rec, view)
    case 'CONTAINS_TOKEN': {
      const m = tokenMatcher(String(need('value')))
      return cmp((v) => m(String(v)))
    }
    default: {
      const m = tokenMatcher(String(need('value')))
      return (rec, view) => {
        const v = get(rec, view)
        return v === undefined || !m(String(v))
      }
    }
  }
}

function compileGroups(def: ObjectDef, groups: unknown): Pred | null {
  if (groups === undefined || groups === null) return null
  if (!Array.isArray(groups)) bad('filterGroups must be an array')
  if (groups.length > SEARCH_LIMITS.groups) {
    bad(`Too many filter groups: ${groups.length}. The maximum is ${SEARCH_LIMITS.groups}.`, 'TOO_MANY_FILTER_GROUPS')
  }
  let total = 0
  const compiled: Pred[][] = []
  for (const group of groups) {
    const filters = (group as { filters?: unknown } | null)?.filters ?? []
    if (!Array.isArray(filters)) bad('filters must be an array')
    if (filters.length > SEARCH_LIMITS.filtersPerGroup) {
      bad(
        `Too many filters in a group: ${filters.length}. The maximum is ${SEARCH_LIMITS.filtersPerGroup}.`,
        'TOO_MANY_FILTERS',
      )
    }
    total += filters.length
    if (filters.length) compiled.push(filters.map((f) => compileFilter(def, f)))
  }
  if (total > SEARCH_LIMITS.filtersTotal) {
    bad(
      `Too many filters: ${total}. The maximum across all groups is ${SEARCH_LIMITS.filtersTotal}.`,
      'TOO_MANY_FILTERS',
    )
  }
  if (compiled.length === 0) return null
  if (compiled.length === 1 && compiled[0]!.length === 1) return compiled[0]![0]!
  return (rec, view) => compiled.some((group) => group.every((p) => p(rec, view)))
}

function compileQuery(def: ObjectDef, query: unknown): Pred | null {
  if (query === undefined || query === null || query === '') return null
  const text = scalar(query, 'query')
  if (text.length > SEARCH_LIMITS.queryLength) bad(`query is longer than ${SEARCH_LIMITS.queryLength} characters`)
  const terms = text.toLowerCase().split(/\s+/).filter(Boolean)
  if (!terms.length) return null
  return (_rec, view) => {
    const haystack = (view.text ??= queryText(def, view))
    return terms.every((term) => haystack.includes(term))
  }
}

/** The lower-cased free-text fields of a version, built once: a new version gets a new View. */
function queryText(def: ObjectDef, view: View): string {
  let text = ''
  for (const name of def.queryProperties) {
    const value = view.props[name]
    if (value !== undefined) text += value.toLowerCase() + '\n'
  }
  return text
}

interface Sort {
  get: Getter
  descending: boolean
  numeric: boolean
}

function parseSort(def: ObjectDef, sorts: unknown): Sort | null {
  if (sorts === undefined || sorts === null) return null
  if (!Array.isArray(sorts)) bad('sorts must be an array')
  if (sorts.length === 0) return null
  if (sorts.length > 1) bad('Only one sort is supported', 'TOO_MANY_SORTS')
  const sort = sorts[0]
  let name: unknown
  let descending = false
  if (typeof sort === 'string') {
    descending = sort.startsWith('-')
    name = descending ? sort.slice(1) : sort
  } else if (typeof sort === 'object' && sort !== null) {
    const s = sort as Record<string, unknown>
    name = s.propertyName
    if (s.direction !== undefined && s.direction !== 'ASCENDING' && s.direction !== 'DESCENDING') {
      bad(`Unknown sort direction: ${String(s.direction)}`)
    }
    descending = s.direction === 'DESCENDING'
  }
  if (typeof name !== 'string' || !name) bad('A sort needs a propertyName')
  const { get, kind } = getterFor(def, name)
  return { get: kind === 'string' ? (rec, view) => lower(get(rec, view)) : get, descending, numeric: kind !== 'string' }
}

/**
 * A stable sort of records already in id order, so ties stay ordered by id in either direction.
 * Times and numbers sort through a typed array, which keeps 100k-record sorts in the tens of ms.
 */
function sortPage(matches: Rec[], sort: Sort, from: number, to: number): Rec[] {
  const n = matches.length
  const order = new Uint32Array(n)
  for (let i = 0; i < n; i++) order[i] = i
  const dir = sort.descending ? -1 : 1
  if (sort.numeric) {
    const keys = new Float64Array(n)
    const missing = sort.descending ? -Infinity : Infinity
    for (let i = 0; i < n; i++) {
      const key = sort.get(matches[i]!, matches[i]!.view!)
      keys[i] = typeof key === 'number' && !Number.isNaN(key) ? key : missing
    }
    order.sort((a, b) => (keys[a]! - keys[b]!) * dir)
  } else {
    const keys = matches.map((rec) => sort.get(rec, rec.view!) as string | undefined)
    order.sort((a, b) => {
      const x = keys[a]
      const y = keys[b]
      if (x === y) return 0
      if (x === undefined) return 1
      if (y === undefined) return -1
      return (x < y ? -1 : 1) * dir
    })
  }
  const page: Rec[] = []
  for (let i = from; i < Math.min(to, n); i++) page.push(matches[order[i]!]!)
  return page
}

function intParam(raw: unknown, name: string, fallback: number): number {
  if (raw === undefined || raw === null || raw === '') return fallback
  const n = typeof raw === 'number' ? raw : typeof raw === 'string' && /^\d+$/.test(raw.trim()) ? Number(raw) : NaN
  if (!Number.isInteger(n) || n < 0) bad(`${name} must be a non-negative integer`)
  return n
}

function propertyNames(raw: unknown): string[] | null {
  if (raw === undefined || raw === null) return null
  if (!Array.isArray(raw) || raw.some((p) => typeof p !== 'string')) bad('properties must be an array of strings')
  return raw.length ? (raw as string[]) : null
}

function isIdAscending(sorts: unknown): boolean {
  const sort = (sorts as unknown[])[0]
  if (typeof sort === 'string') return sort === 'hs_object_id'
  const s = sort as Record<string, unknown>
  return s.propertyName === 'hs_object_id' && s.direction !== 'DESCENDING'
}

/** The id range [from, to) that every filter group confines hs_object_id to; null when one does not. */
function idRange(groups: unknown): { from: number; to: number } | null {
  if (!Array.isArray(groups) || groups.length === 0) return null
  let from = Infinity
  let to = -Infinity
  for (const group of groups) {
    let lo = -Infinity
    let hi = Infinity
    for (const f of ((group as { filters?: unknown })?.filters ?? []) as Record<string, unknown>[]) {
      if (f?.propertyName !== 'hs_object_id' || !/^\d+$/.test(String(f.value ?? ''))) continue
      const v = Number(f.value)
      if (f.operator === 'GTE' || f.operator === 'EQ') lo = Math.max(lo, v)
      if (f.operator === 'GT') lo = Math.max(lo, v + 1)
      if (f.operator === 'LT') hi = Math.min(hi, v)
      if (f.operator === 'LTE' || f.operator === 'EQ') hi = Math.min(hi, v + 1)
    }
    if (lo === -Infinity && hi === Infinity) return null
    from = Math.min(from, lo)
    to = Math.max(to, hi)
  }
  return { from, to }
}

export function runSearch(store: Store, def: ObjectDef, body: unknown, now: number): SearchResult {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) bad('The search request must be a JSON object')
  const req = body as Record<string, unknown>
  const limit = intParam(req.limit, 'limit', 10)
  if (limit > SEARCH_LIMITS.pageSize) bad(`limit must be at most ${SEARCH_LIMITS.pageSize}`)
  const after = intParam(req.after, 'after', 0)
  if (after >= SEARCH_LIMITS.maxResults) {
    bad(`Paging past ${SEARCH_LIMITS.maxResults} results is not supported: after=${after}`, 'TOO_MANY_RESULTS')
  }
  const filter = compileGroups(def, req.filterGroups)
  const query = compileQuery(def, req.query)
  const parsedSort = parseSort(def, req.sorts)
  // Lists are in id order, so an ascending id sort is the order the scan already yields.
  const sort = parsedSort && !isIdAscending(req.sorts) ? parsedSort : null
  const names = propertyNames(req.properties)
  store.settleViews(now)

  const end = Math.min(after + limit, SEARCH_LIMITS.maxResults)
  const list = store.list(def)
  // Only the records inside an id range every filter group bounds are scanned: a backfill's range
  // searches over a million-record portal then cost their range, not the portal (bench/scale).
  const range = idRange(req.filterGroups)
  const all = range ? list.slice(lowerBound(list, range.from), lowerBound(list, range.to)) : list
  let total = 0
  let page: Rec[]
  if (sort) {
    const matches: Rec[] = []
    for (const rec of all) {
      const view = rec.view
      if (view === null || view.archived || (filter && !filter(rec, view)) || (query && !query(rec, view))) continue
      matches.push(rec)
    }
    total = matches.length
    page = sortPage(matches, sort, after, end)
  } else {
    page = []
    for (const rec of all) {
      const view = rec.view
      if (view === null || view.archived || (filter && !filter(rec, view)) || (query && !query(rec, view))) continue
      if (total >= after && total < end) page.push(rec)
      total++
    }
  }
  const result: SearchResult = { total, results: page.map((rec) => presentView(rec, rec.view!, names)) }
  if (end < Math.min(total, SEARCH_LIMITS.maxResults) && limit > 0) result.paging = { next: { after: String(end) } }
  return result
}

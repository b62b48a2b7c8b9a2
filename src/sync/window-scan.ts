// Reads every object modified in a time window through search, by keyset paging that never meets the 10,000-result cap.
import { AppError } from '../errors.js'
import {
  modifiedMs,
  SEARCH_PAGE_MAX,
  type HubSpotObject,
  type PageOf,
  type SearchFilter,
  type SearchRequest,
} from '../hubspot/index.js'

export type SearchFn = (request: SearchRequest) => Promise<PageOf<HubSpotObject>>

export const MODIFIED = 'hs_lastmodifieddate'
export const OBJECT_ID = 'hs_object_id'
const PAGE = SEARCH_PAGE_MAX

/** Ids one search filter may exclude (HubSpot's cap on IN/NOT_IN values is not documented; 100 is safe). */
const MAX_EXCLUDED = 100

/**
 * Every page is a fresh query anchored on the last timestamp read ("GTE anchor"), never an
 * `after` offset. Two reasons:
 * - HubSpot refuses to page past 10,000 results; an anchored query never pages at all.
 * - Offsets shift under concurrent edits: a record read on page 1 and modified before page 2
 *   leaves the window, every later offset moves down by one, and an unmodified record is
 *   skipped for good. An anchor does not move.
 * The next page leaves out what was just read at the anchor's timestamp: one filter group for
 * what came after it, one for the anchor's timestamp without the ids read there (NOT_IN). A
 * batch update may stamp its 100 records with one timestamp (the emulator's does), and then
 * re-reading the page's last timestamp would halve every page after a bulk change. Where more ids share that timestamp than
 * a filter may list, or HubSpot refuses the exclusion, the page reads them again (the versioned
 * upsert makes that harmless).
 * Re-anchoring on the timestamp alone would loop forever once more than a page of records
 * share one timestamp (Airbyte #43317). So when a whole page has the anchor's timestamp, that
 * one timestamp is read in hs_object_id order (keyset "GT lastId", as Airbyte does) and the
 * anchor then moves one millisecond on.
 */
export async function* scanModified(
  search: SearchFn,
  window: { fromMs: number; toMs: number },
  properties: string[],
  signal?: AbortSignal,
): AsyncGenerator<HubSpotObject[]> {
  let anchor = window.fromMs
  /** Ids already read at the anchor's timestamp (none: read everything at it). */
  let readAtAnchor: string[] = []
  let exclusionRefused = false
  while (anchor <= window.toMs) {
    signal?.throwIfAborted()
    const request = (exclude: readonly string[]): SearchRequest => ({
      filterGroups: exclude.length
        ? [
            { filters: [{ propertyName: MODIFIED, operator: 'EQ', value: String(anchor) }, notIn(exclude)] },
            { filters: laterThan(anchor, window.toMs) },
          ]
        : [{ filters: [{ propertyName: MODIFIED, operator: 'GTE', value: String(anchor) }, atMost(window.toMs)] }],
      sorts: [{ propertyName: MODIFIED, direction: 'ASCENDING' }],
      properties,
      limit: PAGE,
    })
    const exclude = exclusionRefused ? [] : readAtAnchor
    const page = await search(request(exclude)).catch((error: unknown) => {
      if (!exclude.length || !refused(error)) throw error
      exclusionRefused = true
      return search(request([]))
    })
    if (page.results.length) yield page.results
    if (page.results.length < PAGE || !page.paging?.next) return
    const last = modifiedMs(page.results[page.results.length - 1])
    if (last > anchor) {
      anchor = last
      const atLast = page.results.filter((object) => modifiedMs(object) === last).map((object) => object.id)
      readAtAnchor = atLast.length <= MAX_EXCLUDED ? atLast : []
      continue
    }
    yield* scanById(search, [{ propertyName: MODIFIED, operator: 'EQ', value: String(anchor) }], properties, signal)
    anchor += 1
    readAtAnchor = []
  }
}

const atMost = (toMs: number): SearchFilter => ({ propertyName: MODIFIED, operator: 'LTE', value: String(toMs) })
const laterThan = (anchor: number, toMs: number): SearchFilter[] => [
  { propertyName: MODIFIED, operator: 'GT', value: String(anchor) },
  atMost(toMs),
]
const notIn = (ids: readonly string[]): SearchFilter => ({
  propertyName: OBJECT_ID,
  operator: 'NOT_IN',
  values: [...ids],
})

/** HubSpot answered the request itself with a 400 (a filter it does not take), not a failure to retry. */
function refused(error: unknown): boolean {
  return error instanceof AppError && error.code === 'E_HUBSPOT_REJECTED'
}

/** All objects matching filters, in id order, keyset-paged on hs_object_id (never an offset). */
export async function* scanById(
  search: SearchFn,
  filters: SearchFilter[],
  properties: string[],
  signal?: AbortSignal,
): AsyncGenerator<HubSpotObject[]> {
  let lastId: string | null = null
  for (;;) {
    signal?.throwIfAborted()
    const keyset: SearchFilter[] = lastId === null ? [] : [{ propertyName: OBJECT_ID, operator: 'GT', value: lastId }]
    const page = await search({
      filterGroups: [{ filters: [...filters, ...keyset] }],
      sorts: [{ propertyName: OBJECT_ID, direction: 'ASCENDING' }],
      properties,
      limit: PAGE,
    })
    if (page.results.length) yield page.results
    if (page.results.length < PAGE || !page.paging?.next) return
    lastId = page.results[page.results.length - 1].id
  }
}

/**
 * The cursor a pull may save: everything modified up to min(upper bound, newest seen) has been
 * read, never "now" (a record modified after the bound, or not yet visible to search, would be
 * skipped). Never moves back.
 */
export function nextCursor(previous: number | null, upperMs: number, maxSeenMs: number | null): number | null {
  if (maxSeenMs === null) return previous
  const earned = Math.min(upperMs, maxSeenMs)
  return previous === null ? earned : Math.max(previous, earned)
}

// Reads every object modified in a time window through search, by keyset paging that never meets the 10,000-result cap.
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

/**
 * Every page is a fresh query anchored on the last timestamp read ("GTE anchor"), never an
 * `after` offset. Two reasons:
 * - HubSpot refuses to page past 10,000 results; an anchored query never pages at all.
 * - Offsets shift under concurrent edits: a record read on page 1 and modified before page 2
 *   leaves the window, every later offset moves down by one, and an unmodified record is
 *   skipped for good. An anchor does not move.
 * Re-anchoring on the timestamp alone would loop forever once more than a page of records
 * share one timestamp (Airbyte #43317). So when a whole page has the anchor's timestamp, that
 * one timestamp is read in hs_object_id order (keyset "GT lastId", as Airbyte does) and the
 * anchor then moves one millisecond on. Records at the anchor's timestamp are read again on
 * the next page; the versioned upsert makes that harmless.
 */
export async function* scanModified(
  search: SearchFn,
  window: { fromMs: number; toMs: number },
  properties: string[],
  signal?: AbortSignal,
): AsyncGenerator<HubSpotObject[]> {
  let anchor = window.fromMs
  while (anchor <= window.toMs) {
    signal?.throwIfAborted()
    const filters: SearchFilter[] = [
      { propertyName: MODIFIED, operator: 'GTE', value: String(anchor) },
      { propertyName: MODIFIED, operator: 'LTE', value: String(window.toMs) },
    ]
    const page = await search({
      filterGroups: [{ filters }],
      sorts: [{ propertyName: MODIFIED, direction: 'ASCENDING' }],
      properties,
      limit: PAGE,
    })
    if (page.results.length) yield page.results
    if (page.results.length < PAGE || !page.paging?.next) return
    const last = modifiedMs(page.results[page.results.length - 1])
    if (last > anchor) {
      anchor = last
      continue
    }
    yield* scanById(search, [{ propertyName: MODIFIED, operator: 'EQ', value: String(anchor) }], properties, signal)
    anchor += 1
  }
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

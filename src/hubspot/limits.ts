// HubSpot's published limits in one place: page sizes, batch sizes, filter sizes and the rate windows.

/** Inputs per batch read, create, update or archive. */
export const BATCH_MAX = 100
/** A batch read asking for `propertiesWithHistory` takes at most this many inputs (more: 400 VALIDATION_ERROR). */
export const BATCH_HISTORY_MAX = 50
/** Objects per page of GET /crm/v3/objects/{type}. */
export const LIST_PAGE_MAX = 100
/** Objects per page of POST /crm/v3/objects/{type}/search. */
export const SEARCH_PAGE_MAX = 200
/** Filter groups (ORed) in one search request; each holds up to six filters, 18 in all. */
export const SEARCH_FILTER_GROUPS_MAX = 5
/** Values in one IN / NOT_IN search filter. */
export const SEARCH_IN_VALUES_MAX = 100
/** The burst limit is counted over a rolling 10 s window. */
export const BURST_WINDOW_MS = 10_000
/** The search limit is counted per second. */
export const SEARCH_WINDOW_MS = 1_000

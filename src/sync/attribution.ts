// Who changed what a pull found: HubSpot's property history for the fields that differ from the replica.
import {
  BATCH_HISTORY_MAX,
  bookingFromHubSpot,
  examFromHubSpot,
  hubspotTimeMs,
  type HubSpotObject,
  type PropertyVersion,
} from '../hubspot/index.js'
import { chunks } from '../model/chunks.js'
import type { ChangeOrigin } from '../model/records.js'
import { currentRecords, fieldChanges } from '../replica/index.js'
import { PROPERTIES } from './apply.js'
import type { SyncContext } from './context.js'
import type { SyncType } from './types.js'

/**
 * Records per pull that get HubSpot's attribution: one batch read per 50 (HubSpot's limit for
 * reads with histories), so at most 4 extra calls per pull whatever it finds. A change made
 * through hubmirror costs nothing here (the replica already holds its version, so it is not
 * newer); a pull that finds more changes than this (a bulk import) attributes the first ones and
 * logs the rest as `{ kind: 'hubspot' }` without a source.
 */
export const ATTRIBUTED_PER_PULL = 200

/** What is left of a pull's attribution allowance, shared by its pages. */
export interface AttributionBudget {
  left: number
}

/**
 * The origin of each record in the page that changed in HubSpot since the replica last saw it
 * (a newer version with fields that differ): the newest version among its changed properties
 * names HubSpot's sourceType, sourceId and user. Best effort: a failed read leaves the page
 * unattributed and the pull goes on (the change itself is what matters).
 */
export async function attributeChanges(
  ctx: SyncContext,
  type: SyncType,
  page: readonly HubSpotObject[],
  budget: AttributionBudget,
  onCall: () => void,
): Promise<Map<string, ChangeOrigin>> {
  const origins = new Map<string, ChangeOrigin>()
  if (budget.left <= 0 || page.length === 0) return origins
  const toRecord = type === 'exams' ? examFromHubSpot : bookingFromHubSpot
  const stored = await currentRecords(
    ctx.db,
    type === 'exams' ? 'exam' : 'booking',
    page.map((o) => o.id),
  )
  const properties = new Set(PROPERTIES[type])
  const changed = new Map<string, string[]>()
  for (const object of page) {
    const before = stored.get(object.id)
    if (!before || changed.size >= budget.left) continue
    const record = toRecord(object) as unknown as Record<string, unknown>
    if (Date.parse(String(record.hs_lastmodifieddate)) <= Date.parse(String(before.hs_lastmodifieddate))) continue
    const fields = Object.keys(fieldChanges(before, record)).filter((field) => properties.has(field))
    if (fields.length > 0) changed.set(object.id, fields)
  }
  if (changed.size === 0) return origins
  budget.left -= changed.size
  for (const ids of chunks([...changed.keys()], BATCH_HISTORY_MAX)) {
    const withHistory = [...new Set(ids.flatMap((id) => changed.get(id)!))]
    let read
    try {
      onCall()
      read = await ctx.crm.batchRead(ctx.types[type], ids, ['hs_object_id'], { propertiesWithHistory: withHistory })
    } catch (error) {
      if (ctx.signal.aborted) throw error
      continue
    }
    for (const object of read.results) {
      const newest = newestVersion(object, changed.get(object.id) ?? [])
      if (newest) origins.set(object.id, originOf(newest))
    }
  }
  return origins
}

/** The latest version among these properties' histories (each newest first). */
function newestVersion(object: HubSpotObject, fields: readonly string[]): PropertyVersion | null {
  let newest: PropertyVersion | null = null
  for (const field of fields) {
    const version = object.propertiesWithHistory?.[field]?.[0]
    if (version && (!newest || hubspotTimeMs(version.timestamp) > hubspotTimeMs(newest.timestamp))) newest = version
  }
  return newest
}

function originOf(version: PropertyVersion): ChangeOrigin {
  return {
    kind: 'hubspot',
    source: version.sourceType,
    ...(version.sourceId ? { source_id: version.sourceId } : {}),
    ...(version.updatedByUserId !== undefined ? { user_id: String(version.updatedByUserId) } : {}),
  }
}

// The incremental pull of one object type: search the modified window, upsert page by page, soft-delete what HubSpot archived.
import { modifiedMs } from '../hubspot/index.js'
import type { Crm } from './crm-port.js'
import { readSyncState, recordPullError, recordPullOk, recordPullStart } from '../replica/index.js'
import { PROPERTIES } from './apply.js'
import { ATTRIBUTED_PER_PULL, attributeChanges } from './attribution.js'
import type { SyncContext } from './context.js'
import type { PullReason, SyncType, TypePullResult } from './types.js'
import { OBJECT_ID, nextCursor, scanModified } from './window-scan.js'

export interface PullContext extends SyncContext {
  /** Search is eventually consistent: each pull re-reads this much before the cursor. */
  lookbackMs: number
  reason: PullReason
  /**
   * false: skip the archived listing (the catch-up after a backfill: it would only wait for the
   * burst window the backfill used up). The archived cursor then stays, so the next pull finds those deletes.
   */
  deletes?: boolean
}

export async function pullType(ctx: PullContext, type: SyncType): Promise<TypePullResult> {
  const state = await readSyncState(ctx.db, type)
  const started = Date.now()
  // Fixed now, so that the pull has an end however busy HubSpot is; later changes are the next pull's.
  const upperMs = started
  const counts = { fetched: 0, changed: 0, deleted: 0, calls: 0 }
  await recordPullStart(ctx.db, type)
  try {
    const search = (request: Parameters<Crm['search']>[1]) => {
      counts.calls += 1
      return ctx.crm.search(ctx.types[type], request)
    }
    let maxSeen: number | null = null
    const attribution = { left: ATTRIBUTED_PER_PULL }
    const fromMs = Math.max(0, (state.cursorMs ?? 0) - ctx.lookbackMs)
    for await (const page of scanModified(search, { fromMs, toMs: upperMs }, PROPERTIES[type], ctx.signal)) {
      counts.fetched += page.length
      for (const object of page) maxSeen = Math.max(maxSeen ?? 0, modifiedMs(object))
      const origins = await attributeChanges(ctx, type, page, attribution, () => (counts.calls += 1))
      counts.changed += (await ctx.applier.batch((writer) => writer.upsert(type, page, { origins }))).changed
    }
    const archivedScanStart = Date.now()
    const archived =
      ctx.deletes === false
        ? { gone: [], newestMs: null }
        : await archivedSince(ctx, type, (state.archivedCursorMs ?? 0) - ctx.lookbackMs, counts)
    if (archived.gone.length)
      counts.deleted = (await ctx.applier.batch((writer) => writer.softDelete(type, archived.gone))).changed
    const cursor = nextCursor(state.cursorMs, upperMs, maxSeen)
    const archivedCursor = nextCursor(state.archivedCursorMs, archivedScanStart, archived.newestMs)
    const ms = Date.now() - started
    await recordPullOk(ctx.db, type, cursor, archivedCursor, {
      ms,
      upper_ms: upperMs,
      reason: ctx.reason,
      fetched: counts.fetched,
      changed: counts.changed,
      deleted: counts.deleted,
    })
    return { ...counts, cursor: cursor === null ? null : new Date(cursor).toISOString() }
  } catch (error) {
    await recordPullError(ctx.db, type, error).catch(() => undefined)
    throw error
  }
}

/**
 * Archiving does not bump hs_lastmodifieddate and search never returns archived objects, so
 * deletes come from the archived listing; it has no time filter, so archivedAt is filtered here.
 */
async function archivedSince(ctx: PullContext, type: SyncType, floorMs: number, counts: { calls: number }) {
  const gone: Array<{ id: string; at: Date }> = []
  let newestMs: number | null = null
  let after: string | undefined
  do {
    ctx.signal.throwIfAborted()
    counts.calls += 1
    const page = await ctx.crm.listPage(ctx.types[type], { after, archived: true, properties: [OBJECT_ID] })
    for (const object of page.results) {
      const at = Date.parse(object.archivedAt ?? '')
      // Without archivedAt there is no telling when: soft-deleting again is a no-op, so do.
      if (!Number.isFinite(at)) gone.push({ id: object.id, at: new Date() })
      else if (at > floorMs) gone.push({ id: object.id, at: new Date(at) })
      if (Number.isFinite(at)) newestMs = Math.max(newestMs ?? 0, at)
    }
    after = page.paging?.next?.after
  } while (after)
  return { gone, newestMs }
}

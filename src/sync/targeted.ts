// Pulls named exams and their bookings (the per-exam Refresh, force sync), and re-lists all exams (force sync of exams).
import { BATCH_MAX, SEARCH_IN_VALUES_MAX, type HubSpotObject } from '../hubspot/index.js'
import { chunks } from '../model/chunks.js'
import type { ChangeEvent } from '../model/records.js'
import { liveBookingIdsOfExams, liveExamIds } from '../replica/index.js'
import { PROPERTIES } from './apply.js'
import type { SyncContext } from './context.js'
import type { Crm } from './crm-port.js'
import type { SyncType, TypePullResult } from './types.js'
import { scanById } from './window-scan.js'

export interface TargetContext extends SyncContext {
  /** Overwrite replica rows even when HubSpot's version is not newer (force sync). */
  force: boolean
  source: ChangeEvent['source']
}

const BATCH = BATCH_MAX
const IN_VALUES = SEARCH_IN_VALUES_MAX

const empty = (): TypePullResult => ({ fetched: 0, changed: 0, deleted: 0, cursor: null, calls: 0 })

/** The exams by id (batch read), then every live booking of theirs (search on mock_exam_id, keyset by id). */
export async function pullExamsById(
  ctx: TargetContext,
  examIds: readonly string[],
): Promise<{ exams: TypePullResult; bookings: TypePullResult; foundExams: Set<string> }> {
  const ids = [...new Set(examIds)]
  const exams = empty()
  const foundExams = new Set<string>()
  for (const chunk of chunks(ids, BATCH)) {
    const found = await refreshByIds(ctx, 'exams', chunk, exams)
    for (const id of found) foundExams.add(id)
  }
  const bookings = empty()
  for (const chunk of chunks(ids, IN_VALUES)) {
    const seen = new Set<string>()
    const search = (request: Parameters<Crm['search']>[1]) => {
      bookings.calls += 1
      return ctx.crm.search(ctx.types.bookings, request)
    }
    for await (const page of scanById(
      search,
      [{ propertyName: 'mock_exam_id', operator: 'IN', values: chunk }],
      PROPERTIES.bookings,
      ctx.signal,
    )) {
      for (const object of page) seen.add(object.id)
      bookings.fetched += page.length
      bookings.changed += (
        await ctx.applier.batch((writer) => writer.upsert('bookings', page, { force: ctx.force, source: ctx.source }))
      ).changed
    }
    // Absent from search: archived, moved to another exam, or too new for search to know yet; a batch read tells which.
    const unseen = (await liveBookingIdsOfExams(ctx.db, chunk)).filter((id) => !seen.has(id))
    for (const ids100 of chunks(unseen, BATCH)) await refreshByIds(ctx, 'bookings', ids100, bookings)
  }
  return { exams, bookings, foundExams }
}

/** Every exam from the list (about N/100 calls), plus soft deletes for replica exams HubSpot no longer has. */
export async function relistExams(ctx: TargetContext): Promise<TypePullResult> {
  const result = empty()
  // Taken before listing: an exam created meanwhile is not in it, so it cannot be taken for an extra.
  const before = await liveExamIds(ctx.db)
  const seen = new Set<string>()
  let after: string | undefined
  do {
    ctx.signal.throwIfAborted()
    result.calls += 1
    const page = await ctx.crm.listPage(ctx.types.exams, { after, properties: PROPERTIES.exams })
    for (const object of page.results) seen.add(object.id)
    result.fetched += page.results.length
    result.changed += (
      await ctx.applier.batch((writer) =>
        writer.upsert('exams', page.results, { force: ctx.force, source: ctx.source }),
      )
    ).changed
    after = page.paging?.next?.after
  } while (after)
  for (const ids of chunks(
    before.filter((id) => !seen.has(id)),
    BATCH,
  ))
    await refreshByIds(ctx, 'exams', ids, result)
  return result
}

/**
 * Reads ids in one batch: those HubSpot has are upserted, those it does not (archived, or gone)
 * are soft-deleted. Returns the ids HubSpot has.
 */
export async function refreshByIds(
  ctx: TargetContext,
  type: SyncType,
  ids: readonly string[],
  counts: TypePullResult,
): Promise<string[]> {
  if (ids.length === 0) return []
  counts.calls += 1
  const read = await ctx.crm.batchRead(ctx.types[type], [...ids], PROPERTIES[type])
  const found: HubSpotObject[] = read.results.filter((object) => !object.archived)
  const foundIds = new Set(found.map((object) => object.id))
  const gone = ids.filter((id) => !foundIds.has(id)).map((id) => ({ id, at: new Date() }))
  counts.fetched += found.length
  let deleted = 0
  const { changed } = await ctx.applier.batch(async (writer) => {
    await writer.upsert(type, found, { force: ctx.force, source: ctx.source })
    deleted = await writer.softDelete(type, gone, ctx.source)
  })
  counts.deleted += deleted
  counts.changed += changed - deleted
  return [...foundIds]
}

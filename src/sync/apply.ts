// Writes what a pull fetched: one transaction per batch (versioned upserts, soft deletes, checkpoint).
import {
  BOOKING_PROPERTIES,
  bookingFromHubSpot,
  EXAM_PROPERTIES,
  examFromHubSpot,
  type HubSpotObject,
} from '../hubspot/index.js'
import type { ChangeEvent, ChangeOrigin, CommittedEvent } from '../model/records.js'
import {
  softDeleteBookings,
  softDeleteExams,
  upsertBookings,
  upsertExams,
  type ReplicaDriver,
  type Transaction,
} from '../replica/index.js'
import type { SyncType } from './types.js'

type Source = ChangeEvent['source']

export interface BatchWriter {
  readonly tx: Transaction
  /** Returns how many rows changed. */
  upsert(
    type: SyncType,
    objects: readonly HubSpotObject[],
    options?: { force?: boolean; source?: Source; origins?: ReadonlyMap<string, ChangeOrigin> },
  ): Promise<number>
  /** Returns how many rows were marked deleted (rows already deleted are left alone). */
  softDelete(type: SyncType, items: ReadonlyArray<{ id: string; at: Date }>, source?: Source): Promise<number>
}

/** The properties every read asks HubSpot for. */
export const PROPERTIES: Record<SyncType, string[]> = { exams: [...EXAM_PROPERTIES], bookings: [...BOOKING_PROPERTIES] }

export interface Applier {
  /** Runs fn in one transaction; its commit bumps the cache generations the change events touch (replica/commit.ts). */
  batch<T>(fn: (writer: BatchWriter) => Promise<T>): Promise<{ value: T; changed: number }>
}

export function createApplier(db: ReplicaDriver): Applier {
  return {
    async batch(fn) {
      let changed = 0
      const value = await db.transaction(async (tx) => {
        // A re-run transaction (deadlock retry) counts from zero again.
        changed = 0
        const note = (events: readonly CommittedEvent[]) => {
          changed += events.length
        }
        const writer: BatchWriter = {
          tx,
          async upsert(type, objects, options = {}) {
            if (objects.length === 0) return 0
            const source = options.source ?? 'sync'
            if (type === 'exams') {
              const events = await upsertExams(tx, objects.map(examFromHubSpot), source, {
                force: options.force,
                origins: options.origins,
              })
              note(events)
              return events.length
            }
            const events = await upsertBookings(tx, objects.map(bookingFromHubSpot), source, {
              force: options.force,
              origins: options.origins,
            })
            note(events)
            return events.length
          },
          async softDelete(type, items, source = 'sync') {
            let count = 0
            for (const [at, ids] of groupByTime(items)) {
              const events =
                type === 'exams'
                  ? await softDeleteExams(tx, ids, new Date(at), source)
                  : await softDeleteBookings(tx, ids, new Date(at), source)
              note(events)
              count += events.length
            }
            return count
          },
        }
        return fn(writer)
      })
      return { value, changed }
    },
  }
}

/** soft deletes take one time per statement; archives usually each have their own. */
function groupByTime(items: ReadonlyArray<{ id: string; at: Date }>): Map<number, string[]> {
  const groups = new Map<number, string[]>()
  for (const { id, at } of items) {
    const key = at.getTime()
    const list = groups.get(key)
    if (list) list.push(id)
    else groups.set(key, [id])
  }
  return groups
}

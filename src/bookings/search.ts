// Finding a student: a page of their bookings across exams, with an opaque cursor for the next page.
import { invalidField } from '../errors.js'
import { searchBookings, type Queryable } from '../replica/index.js'
import type { CacheEntry } from '../cache/index.js'

const CURSOR_VERSION = 1

/** Opaque to clients (base64url JSON), so the sort key can change without breaking their contract. */
function encodeCursor(lastId: string): string {
  return Buffer.from(JSON.stringify({ v: CURSOR_VERSION, after: lastId })).toString('base64url')
}

function decodeCursor(cursor: string): string {
  const bad = () => invalidField('cursor', 'must be the next_cursor of a previous page of this search')
  if (!/^[A-Za-z0-9_-]+$/.test(cursor)) throw bad()
  let parsed: unknown
  try {
    parsed = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'))
  } catch {
    throw bad()
  }
  const { v, after } = (parsed ?? {}) as { v?: unknown; after?: unknown }
  if (v !== CURSOR_VERSION || typeof after !== 'string' || !/^\d{1,20}$/.test(after)) throw bad()
  return after
}

export interface BookingSearch {
  q: string
  limit: number
  cursor?: string
}

/** The response bytes (`{ success, bookings, next_cursor }`) and the seq they reflect; never cached. */
export async function findBookings(db: Queryable, search: BookingSearch): Promise<CacheEntry> {
  const after = search.cursor === undefined ? null : decodeCursor(search.cursor)
  const page = await searchBookings(db, search.q, after, search.limit)
  const next = page.lastId === null ? null : encodeCursor(page.lastId)
  return {
    body: Buffer.from(`{"success":true,"bookings":[${page.hits.join(',')}],"next_cursor":${JSON.stringify(next)}}`),
    seq: page.seq,
  }
}

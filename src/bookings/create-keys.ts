// Idempotent booking creates: a key (booking_id or Idempotency-Key) bound to its request, replayed or refused.
import { keyReused, writeInProgress } from '../errors.js'
import type { BookingInput, BookingRecord } from '../model/records.js'
import { bookingByKey, readKey, type Queryable } from '../replica/index.js'
import { requestHash } from './request-key.js'

/** The idempotency scope of booking creates (a key names one booking create). */
export const CREATE_SCOPE = 'booking.create'
/** Expired idempotency keys are pruned every this many creates (and at start), a bounded batch at a time. */
export const PRUNE_EVERY_CREATES = 1_000

/** A create's key, as stored: the request it names, and what the client called it (for the errors). */
export interface CreateKey {
  hash: string
  field: string
}

/** The key a create is bound to; null when the client gave none (a fresh id is then made up). */
export function createKey(
  input: BookingInput,
  bookingId: string,
  request: { subject?: string; scope?: string; keyField?: string },
): CreateKey | null {
  if (input.booking_id === undefined) return null
  return {
    hash: requestHash(request.scope ?? request.subject ?? '', { ...input, booking_id: bookingId }),
    field: request.keyField ?? 'booking_id',
  }
}

/** The first answer for this key, or null when the key is free; throws when it names another request or is in flight. */
export async function replayCreate(
  tx: Queryable,
  input: BookingInput,
  bookingId: string,
  key: { hash: string; field: string },
): Promise<BookingRecord | null> {
  const stored = await readKey(tx, CREATE_SCOPE, bookingId)
  if (stored && stored.intent_status !== 'failed') {
    if (stored.request_hash !== key.hash) throw keyReused(key.field, bookingId)
    if (stored.response) return stored.response as unknown as BookingRecord
    if (stored.intent_status === 'pending') throw writeInProgress(key.field)
    // Done with no answer stored: recovery finished it after a crash, so the replica has it.
  }
  // No live key (expired, or the booking came from HubSpot): the booking itself says what the key meant.
  const existing = await bookingByKey(tx, bookingId)
  if (!existing) return null
  if (!sameBooking(existing, input)) throw keyReused(key.field, bookingId)
  return existing as unknown as BookingRecord
}

/** A booking already under this key (its key expired, or it came from HubSpot) answers the same request only. */
function sameBooking(existing: Record<string, unknown>, input: BookingInput): boolean {
  const { examId, booking_id: _key, ...fields } = input
  const expected: Record<string, unknown> = { mock_exam_id: examId, ...fields }
  return Object.entries(expected).every(([field, value]) => value === undefined || existing[field] === value)
}

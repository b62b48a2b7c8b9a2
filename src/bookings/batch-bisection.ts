// Booking creates in one HubSpot batch upsert, halved around the inputs HubSpot's validation refuses.
import { AppError } from '../errors.js'
import type { HubSpot, UpsertResult } from '../hubspot/index.js'

/** One create waiting for a batch: its key and the HubSpot properties it writes. */
export interface PendingCreate {
  bookingId: string
  properties: Record<string, string>
}

/**
 * HubSpot's write validation refuses a whole batch for one input that breaks a rule, without
 * saying which; halving the batch until the refused inputs stand alone lets the others through.
 */
export async function upsertBookingBatch(
  hubspot: HubSpot,
  items: PendingCreate[],
): Promise<Array<UpsertResult | Error>> {
  try {
    return await upsertBatch(hubspot, items)
  } catch (error) {
    if (!(error instanceof AppError && error.code === 'E_HUBSPOT_VALIDATION')) throw error
    if (items.length === 1) return [error]
    const half = Math.ceil(items.length / 2)
    const [front, back] = await Promise.all([
      upsertBookingBatch(hubspot, items.slice(0, half)),
      upsertBookingBatch(hubspot, items.slice(half)),
    ])
    return [...front, ...back]
  }
}

async function upsertBatch(hubspot: HubSpot, items: PendingCreate[]): Promise<Array<UpsertResult | Error>> {
  const types = await hubspot.objectTypes()
  const result = await hubspot.crm.batchUpsert(
    types.bookings,
    'booking_id',
    items.map((item) => ({ id: item.bookingId, properties: item.properties })),
  )
  const byKey = new Map(result.results.map((object) => [object.properties.booking_id, object]))
  return items.map(
    (item) =>
      byKey.get(item.bookingId) ??
      new AppError(
        'E_HUBSPOT_REJECTED',
        `HubSpot did not create booking ${item.bookingId}: ${result.errors?.[0]?.message ?? 'no result'}`,
      ),
  )
}

// Deciding which change events were made elsewhere, and wording a burst of them as one toast.
import type { BookingRecord, ChangeEvent, ExamRecord } from '../../src/client/index.js'

/** Keys of writes this tab made recently; their echoes on the change stream are not "remote". */
export class OwnWrites {
  #keys = new Map<string, number>()
  readonly #ttlMs: number

  constructor(ttlMs = 20_000) {
    this.#ttlMs = ttlMs
  }

  mark(keys: (string | null | undefined)[], now = Date.now()): void {
    for (const key of keys) if (key) this.#keys.set(key, now + this.#ttlMs)
  }

  has(key: string | null | undefined, now = Date.now()): boolean {
    if (!key) return false
    const until = this.#keys.get(key)
    if (until === undefined) return false
    if (until < now) {
      this.#keys.delete(key)
      return false
    }
    return true
  }

  /**
   * A `write` event echoing this tab's own write. Bookings match by id or idempotency key only, so
   * another admin's booking on the same exam still counts as remote; exams also match by name,
   * because a created exam's id is unknown until the create returns (the event may come first).
   */
  isOwn(event: ChangeEvent, now = Date.now()): boolean {
    if (event.source !== 'write') return false
    if (this.has(event.hubspot_id, now)) return true
    if (event.kind === 'booking') return this.has((event.row as BookingRecord | null)?.booking_id, now)
    const name = (event.row as ExamRecord | null)?.mock_exam_name
    return this.has(name ? `name:${name}` : null, now)
  }
}

const SOURCE_LABEL: Record<ChangeEvent['source'], string> = {
  sync: 'from HubSpot',
  manual: 'by a manual sync',
  write: 'by another admin',
}

/** Fields worth naming in a notice, in the words an admin uses; others are left to the history. */
const FIELD_LABEL: Record<string, string> = {
  attendance: 'attendance',
  attending_location: 'location',
  booking_status: 'status',
  student_name: 'name',
  student_email: 'email',
  capacity: 'capacity',
  location: 'location',
  is_active: 'active',
  exam_date: 'date',
  start_time: 'start',
  end_time: 'end',
  mock_exam_name: 'name',
}

function shown(value: unknown): string {
  return value === null || value === undefined || value === '' ? '—' : String(value)
}

/** "attendance: — → attended, location: Halifax → Annex" (at most three fields). */
export function describeFields(event: Pick<ChangeEvent, 'changes'>): string {
  // In FIELD_LABEL's order (what an admin looks for first), not the stored order (jsonb sorts keys by length).
  const changes = event.changes ?? {}
  const named = Object.keys(FIELD_LABEL).filter((field) => field in changes)
  if (named.length === 0) return ''
  const parts = named.slice(0, 3).map((field) => {
    const [before, after] = changes[field] as [unknown, unknown]
    return `${FIELD_LABEL[field]}: ${shown(before)} → ${shown(after)}`
  })
  return parts.join(', ') + (named.length > 3 ? ', …' : '')
}

/** Who made a change: the token subject of a hubmirror write, HubSpot's user or source for a pull. */
export function describeOrigin(event: Pick<ChangeEvent, 'origin' | 'source'>): string {
  const origin = event.origin
  if (!origin) return SOURCE_LABEL[event.source]
  if (origin.kind === 'hubmirror') return origin.subject ? `by ${origin.subject}` : SOURCE_LABEL.write
  if (origin.user_id) return `by HubSpot user ${origin.user_id}`
  return origin.source ? `in HubSpot (${origin.source.toLowerCase().replaceAll('_', ' ')})` : SOURCE_LABEL.sync
}

export function describeChange(event: ChangeEvent): string {
  const fields = describeFields(event)
  const detail = fields ? ` (${fields})` : ''
  if (event.kind === 'booking') {
    const row = event.row as BookingRecord | null
    const who = row?.student_name || row?.student_email || `booking ${event.hubspot_id}`
    if (event.op === 'delete' || row?.deleted_at) return `Booking for ${who} removed`
    if (row?.booking_status === 'cancelled' && event.changes?.booking_status) return `Booking for ${who} cancelled`
    return `Booking for ${who} updated${detail}`
  }
  const row = event.row as ExamRecord | null
  const name = row?.mock_exam_name || `exam ${event.hubspot_id}`
  if (event.op === 'delete' || row?.deleted_at) return `Exam “${name}” archived`
  return `Exam “${name}” updated${detail}`
}

/**
 * One line for a burst of remote events. An exam event that only echoes a booking change in the
 * same burst (its seat count moved) is not worth its own mention.
 */
export function summarizeChanges(events: ChangeEvent[]): string {
  const bookingExams = new Set(events.filter((e) => e.kind === 'booking').map((e) => e.exam_id))
  const notable = events.filter((e) => e.kind === 'booking' || !bookingExams.has(e.hubspot_id))
  const origins = new Set(notable.map(describeOrigin))
  const origin = origins.size === 1 ? ([...origins][0] as string) : 'elsewhere'
  if (notable.length === 1) return `${describeChange(notable[0] as ChangeEvent)} ${origin}`
  const shown = notable.slice(0, 2).map(describeChange).join('; ')
  const more = notable.length > 2 ? ` and ${notable.length - 2} more` : ''
  return `${notable.length} changes ${origin}: ${shown}${more}`
}

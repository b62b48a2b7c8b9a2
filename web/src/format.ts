// Display helpers: dates, times, counts and the fill colour scale shared by bars and gauges.
import type { DriftReport, ExamRecord, PullBody } from '../../src/client/index.js'

/** The seed's exam types, offered in the exam form and filters. */
export const MOCK_TYPES = ['Situational Judgment', 'Clinical Skills', 'Mini-mock', 'Mock Discussion']
export const BOOKING_STATUSES = ['confirmed', 'cancelled', 'completed', 'no_show']
/** Statuses that hold a seat against capacity (as on the server). */
export const SEAT_HOLDING = new Set(['confirmed', 'completed', 'no_show'])

export function formatDate(date: string | null): string {
  if (!date) return '—'
  const d = new Date(`${date}T00:00:00`)
  if (Number.isNaN(d.getTime())) return date
  return d.toLocaleDateString(undefined, { weekday: 'short', day: 'numeric', month: 'short', year: 'numeric' })
}

export function formatTimeRange(exam: Pick<ExamRecord, 'start_time' | 'end_time'>): string {
  if (!exam.start_time) return '—'
  return exam.end_time ? `${exam.start_time}–${exam.end_time}` : exam.start_time
}

export function formatDateTime(iso: string | null | undefined): string {
  if (!iso) return '—'
  const d = new Date(iso)
  if (Number.isNaN(d.getTime())) return iso
  return d.toLocaleString(undefined, { dateStyle: 'medium', timeStyle: 'medium' })
}

export function formatShortDateTime(iso: string | null | undefined): string {
  if (!iso) return '—'
  const d = new Date(iso)
  if (Number.isNaN(d.getTime())) return iso
  return d.toLocaleString(undefined, { month: 'short', day: 'numeric', hour: 'numeric', minute: '2-digit' })
}

export function formatAgo(iso: string | null | undefined, now = Date.now()): string {
  if (!iso) return 'never'
  const ms = now - new Date(iso).getTime()
  if (Number.isNaN(ms)) return iso
  if (ms < 2_000) return 'just now'
  return `${formatDuration(ms)} ago`
}

export function formatDuration(ms: number | null | undefined): string {
  if (ms === null || ms === undefined || Number.isNaN(ms)) return '—'
  if (ms < 1000) return `${Math.round(ms)} ms`
  const s = ms / 1000
  if (s < 60) return `${s < 10 ? s.toFixed(1) : Math.round(s)} s`
  const m = Math.floor(s / 60)
  if (m < 60) return `${m} min ${Math.round(s % 60)} s`
  const h = Math.floor(m / 60)
  return `${h} h ${m % 60} min`
}

export function formatPercent(ratio: number): string {
  return `${Math.round(ratio * 100)}%`
}

export function formatNumber(n: number | null | undefined): string {
  return n === null || n === undefined ? '—' : n.toLocaleString()
}

export type FillLevel = 'low' | 'mid' | 'high' | 'full'

export function fillLevel(used: number, capacity: number): FillLevel {
  if (capacity <= 0) return used > 0 ? 'full' : 'low'
  const r = used / capacity
  if (r >= 1) return 'full'
  if (r >= 0.85) return 'high'
  if (r >= 0.6) return 'mid'
  return 'low'
}

export function isActive(exam: Pick<ExamRecord, 'is_active'>): boolean {
  return exam.is_active === 'true'
}

/** Today's date where the admin is (YYYY-MM-DD): an exam is past once its day is over locally. */
export function localToday(now = new Date()): string {
  const y = now.getFullYear()
  const m = String(now.getMonth() + 1).padStart(2, '0')
  const d = String(now.getDate()).padStart(2, '0')
  return `${y}-${m}-${d}`
}

export function isPast(exam: Pick<ExamRecord, 'exam_date'>, today = localToday()): boolean {
  return !!exam.exam_date && exam.exam_date < today
}

/** Upcoming exams first, soonest first; then past ones, most recent first: the list opens on what is next. */
export function compareExams(a: ExamRecord, b: ExamRecord, today = localToday()): number {
  const pastA = isPast(a, today)
  const pastB = isPast(b, today)
  if (pastA !== pastB) return pastA ? 1 : -1
  const order = pastA ? -1 : 1
  return (
    order * (a.exam_date ?? '').localeCompare(b.exam_date ?? '') ||
    order * (a.start_time ?? '').localeCompare(b.start_time ?? '') ||
    a.hubspot_id.localeCompare(b.hubspot_id)
  )
}

export function statusLabel(status: string | null): string {
  return status ? status.replace(/_/g, ' ') : '—'
}

/** What a finished (or still running) pull did, in a sentence for a toast. */
export function describePull(body: PullBody): string {
  if (!body.completed) return 'Pulling from HubSpot: the first load is still running'
  const { result } = body
  if (!result.started)
    return result.skipped === 'busy' ? 'A pull from HubSpot is already running' : 'Nothing to pull right now'
  const changed = (result.objects.exams?.changed ?? 0) + (result.objects.bookings?.changed ?? 0)
  return `Pulled from HubSpot: ${changed} change${changed === 1 ? '' : 's'}`
}

export function driftCount(
  r: Pick<DriftReport, 'missing_in_replica' | 'extra_in_replica' | 'stale_in_replica'>,
): number {
  return r.missing_in_replica + r.extra_in_replica + r.stale_in_replica
}

/** The reconcile's outcome in a sentence for a toast. */
export function describeDrift(report: DriftReport): string {
  const drift = driftCount(report)
  if (drift === 0) return `Reconcile: no drift (${report.calls} HubSpot calls)`
  const found = `Reconcile: found ${drift} difference${drift === 1 ? '' : 's'}`
  if (report.fixed > 0) return `${found} and repaired ${report.fixed} row${report.fixed === 1 ? '' : 's'}`
  return `${found} between HubSpot and the replica`
}

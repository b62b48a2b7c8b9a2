// Seed data: the demo is consistent and believable, and bulk seeding is deterministic.
import { describe, expect, it } from 'vitest'
import { BOOKINGS, CONTACTS, MOCK_EXAMS } from './schema.js'
import { seedStore } from './seed.js'
import { Store } from './store.js'

const SEATS = new Set(['confirmed', 'completed', 'no_show'])

function seatsByExam(store: Store): Map<string, number> {
  const counts = new Map<string, number>()
  for (const b of store.list(BOOKINGS)) {
    if (b.props.is_active === 'true' && SEATS.has(b.props.booking_status!)) {
      counts.set(b.props.mock_exam_id!, (counts.get(b.props.mock_exam_id!) ?? 0) + 1)
    }
  }
  return counts
}

describe('demo seed', () => {
  const now = Date.UTC(2026, 4, 15, 12)
  const store = new Store()
  seedStore(store, 'demo', now)
  const exams = store.list(MOCK_EXAMS)

  it('has tens of exams, a few thousand bookings and their students', () => {
    expect(exams.length).toBeGreaterThanOrEqual(20)
    expect(exams.length).toBeLessThan(100)
    expect(store.list(BOOKINGS).length).toBeGreaterThan(1500)
    expect(store.list(CONTACTS).length).toBeGreaterThan(500)
  })

  it('keeps total_bookings consistent with the bookings holding a seat', () => {
    const seats = seatsByExam(store)
    for (const exam of exams) expect(Number(exam.props.total_bookings)).toBe(seats.get(exam.id) ?? 0)
  })

  it('has realistic exams: upcoming weeks, capacities 20–60, some inactive, some full', () => {
    const today = new Date(now).toISOString().slice(0, 10)
    const sixWeeks = new Date(now + 43 * 86_400_000).toISOString().slice(0, 10)
    const upcoming = exams.filter((e) => e.props.exam_date! > today)
    expect(upcoming.length).toBeGreaterThan(exams.length / 2)
    for (const e of exams) {
      expect(e.props.exam_date! <= sixWeeks).toBe(true)
      expect(Number(e.props.capacity)).toBeGreaterThanOrEqual(20)
      expect(Number(e.props.capacity)).toBeLessThanOrEqual(60)
      expect(e.props.start_time).toMatch(/^\d{2}:\d{2}$/)
      expect(e.props.end_time! > e.props.start_time!).toBe(true)
    }
    expect(exams.some((e) => e.props.is_active === 'false')).toBe(true)
    expect(exams.some((e) => e.props.total_bookings === e.props.capacity)).toBe(true)
    expect(new Set(exams.map((e) => e.props.mock_type)).size).toBe(4)
    expect(exams.map((e) => e.props.location)).toContain('Online')
  })

  it('dates its exams from the clock it seeds at: most in the coming weeks, a few just past', () => {
    for (const at of [now, Date.UTC(2027, 10, 30, 23)]) {
      const seeded = new Store()
      seedStore(seeded, 'demo', at)
      const today = new Date(at).toISOString().slice(0, 10)
      const twoWeeksAgo = new Date(at - 15 * 86_400_000).toISOString().slice(0, 10)
      const dates = seeded.list(MOCK_EXAMS).map((e) => e.props.exam_date!)
      const past = dates.filter((d) => d < today)
      expect(past.length, `past exams when seeded at ${today}`).toBeGreaterThan(0)
      expect(past.length).toBeLessThan(dates.length / 4)
      for (const d of past) expect(d > twoWeeksAgo, `${d} is within two weeks before ${today}`).toBe(true)
      // Past exams hold completed or no-show bookings, never confirmed ones: they already happened.
      const pastIds = new Set(
        seeded
          .list(MOCK_EXAMS)
          .filter((e) => e.props.exam_date! < today)
          .map((e) => e.id),
      )
      const confirmedInPast = seeded
        .list(BOOKINGS)
        .filter((b) => pastIds.has(b.props.mock_exam_id!) && b.props.booking_status === 'confirmed')
      expect(confirmedInPast).toEqual([])
    }
  })

  it('has bookings in every status, and unique booking ids', () => {
    const bookings = store.list(BOOKINGS)
    expect(new Set(bookings.map((b) => b.props.booking_status))).toEqual(
      new Set(['confirmed', 'cancelled', 'completed', 'no_show']),
    )
    expect(new Set(bookings.map((b) => b.props.booking_id)).size).toBe(bookings.length)
    expect(bookings.every((b) => store.associated(b, MOCK_EXAMS).length === 1)).toBe(true)
  })
})

describe('bulk seed', () => {
  it('creates N bookings, 100 per exam, identically every time', () => {
    const a = new Store()
    const b = new Store()
    seedStore(a, 1050)
    seedStore(b, 1050)
    expect(a.list(BOOKINGS).length).toBe(1050)
    expect(a.list(MOCK_EXAMS).length).toBe(11)
    expect(JSON.stringify(a.save())).toBe(JSON.stringify(b.save()))
    const seats = seatsByExam(a)
    for (const exam of a.list(MOCK_EXAMS)) expect(Number(exam.props.total_bookings)).toBe(seats.get(exam.id) ?? 0)
  })

  it('seeds nothing for none', () => {
    const store = new Store()
    seedStore(store, 'none')
    expect(store.byId.size).toBe(0)
  })
})

// Seed data: a believable demo portal, or deterministic bulk data (N bookings, 100 per exam).
import { BOOKINGS, CONTACTS, MOCK_EXAMS, defaultAssociationType } from './schema.js'
import type { Rec, Store } from './store.js'

export type SeedSpec = 'demo' | 'none' | number

const TYPES = ['Situational Judgment', 'Clinical Skills', 'Mini-mock', 'Mock Discussion'] as const
const TYPE_MINUTES: Record<string, number> = {
  'Situational Judgment': 180,
  'Clinical Skills': 240,
  'Mini-mock': 120,
  'Mock Discussion': 90,
}
const LOCATIONS = ['Mississauga', 'Vancouver', 'Calgary', 'Montreal', 'Online', 'Toronto', 'Ottawa', 'Edmonton']
const STARTS = ['08:00', '08:30', '09:00', '10:00', '13:00', '14:00', '17:30', '18:00']
const FIRST = [
  'Aisha',
  'Liam',
  'Priya',
  'Noah',
  'Mei',
  'Ethan',
  'Fatima',
  'Lucas',
  'Sofia',
  'Arjun',
  'Chloe',
  'Omar',
  'Hannah',
  'Daniel',
  'Zara',
  'Mateo',
  'Emily',
  'Hassan',
  'Olivia',
  'Wei',
  'Grace',
  'Yusuf',
  'Ava',
  'Rohan',
  'Leah',
  'Gabriel',
  'Amira',
  'Samuel',
  'Nadia',
  'Kenji',
  'Isabelle',
  'Tariq',
  'Maya',
  'Adrian',
  'Simran',
  'Julien',
]
const LAST = [
  'Patel',
  'Nguyen',
  'Smith',
  'Chen',
  'Khan',
  'Tremblay',
  'Singh',
  'Wong',
  'Martin',
  'Ali',
  'Roy',
  'Gagnon',
  'Kim',
  'Brown',
  'Li',
  'Wilson',
  'Ahmed',
  'Côté',
  'Taylor',
  'Sharma',
  'Lee',
  'Morin',
  'Hussain',
  'Campbell',
  'Zhang',
  'Fortin',
  'Anderson',
  'Das',
  'Bouchard',
  'Park',
]
const SEAT_HOLDING = new Set(['confirmed', 'completed', 'no_show'])
const DAY = 86_400_000

/** mulberry32: small, fast and reproducible. */
function prng(seed: number): () => number {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296
  }
}

function pick<T>(rand: () => number, items: readonly T[]): T {
  return items[Math.floor(rand() * items.length)]!
}

function between(rand: () => number, lo: number, hi: number): number {
  return lo + Math.floor(rand() * (hi - lo + 1))
}

function addMinutes(hhmm: string, minutes: number): string {
  const [h, m] = hhmm.split(':').map(Number) as [number, number]
  const total = h * 60 + m + minutes
  return `${String(Math.floor(total / 60)).padStart(2, '0')}:${String(total % 60).padStart(2, '0')}`
}

function isoDate(ms: number): string {
  return new Date(ms).toISOString().slice(0, 10)
}

function link(store: Store, booking: Rec, exam: Rec, contact: Rec | undefined): void {
  store.associate(booking, exam, defaultAssociationType(BOOKINGS, MOCK_EXAMS)!)
  if (contact) store.associate(booking, contact, defaultAssociationType(BOOKINGS, CONTACTS)!)
}

function countSeats(statuses: { status: string; active: boolean }[]): number {
  return statuses.filter((s) => s.active && SEAT_HOLDING.has(s.status)).length
}

export function seedStore(store: Store, spec: SeedSpec, now = Date.now()): void {
  if (spec === 'none') return
  if (spec === 'demo') seedDemo(store, now)
  else for (const _ of seedBulk(store, spec)) void _
}

/** Exams seeded between two yields to the event loop (100 bookings each): a few ms per turn. */
const EXAMS_PER_TURN = 2

/**
 * The same data as seedStore, seeded a few exams at a time with the event loop let through in
 * between: the embedded emulator shares its process with the API, which keeps answering.
 */
export async function seedStoreGradually(store: Store, spec: SeedSpec, now = Date.now()): Promise<void> {
  if (spec === 'none') return
  if (spec === 'demo') return seedDemo(store, now)
  let exams = 0
  for (const _ of seedBulk(store, spec)) {
    if (++exams % EXAMS_PER_TURN === 0) await new Promise((resolve) => setImmediate(resolve))
  }
}

interface Demo {
  store: Store
  rand: () => number
  tick: () => number
  contacts: Rec[]
  bookingSeq: number
}

function seedDemo(store: Store, now: number): void {
  const rand = prng(20_260_101)
  let clock = now - 30 * DAY
  const tick = (): number => (clock = Math.min(clock + between(rand, 60_000, 600_000), now - 1000))
  const demo: Demo = { store, rand, tick, contacts: [], bookingSeq: 0 }
  for (let i = 0; i < 1200; i++) demo.contacts.push(demoContact(demo, i))
  const today = Math.floor(now / DAY) * DAY
  for (let e = 0; e < 75; e++) demoExam(demo, today, e)
}

function demoContact({ store, rand, tick }: Demo, i: number): Rec {
  const first = pick(rand, FIRST)
  const last = pick(rand, LAST)
  const email = `${first}.${last}.${i}@students.example.com`
    .toLowerCase()
    .normalize('NFD')
    .replace(/[\u0300-\u036f]/g, '')
  const phone = `+1 ${pick(rand, ['416', '604', '403', '514', '905', '613'])}-555-${String(between(rand, 0, 9999)).padStart(4, '0')}`
  const studentId = `STU${String(100_000 + i * 7).padStart(6, '0')}`
  return store.create(CONTACTS, { firstname: first, lastname: last, email, phone, student_id: studentId }, tick())
}

/** Ten recent exams (completed or no-show bookings), the rest over the next six weeks; every 15th is full. */
function demoExam(demo: Demo, today: number, e: number): void {
  const { store, rand, tick } = demo
  const past = e < 10
  const date = today + (past ? -between(rand, 1, 14) : between(rand, 1, 42)) * DAY
  const type = pick(rand, TYPES)
  const location = type === 'Mock Discussion' && rand() < 0.5 ? 'Online' : pick(rand, LOCATIONS)
  const start = pick(rand, STARTS)
  const capacity = between(rand, 4, 12) * 5
  const seats = e % 15 === 3 ? capacity : Math.floor(capacity * (past ? 0.6 + rand() * 0.35 : 0.3 + rand() * 0.6))
  const dateText = isoDate(date)
  const day = new Date(date).toLocaleDateString('en-CA', { month: 'short', day: 'numeric', timeZone: 'UTC' })
  const exam = store.create(
    MOCK_EXAMS,
    {
      mock_exam_name: `${type} – ${location} – ${day}`,
      mock_type: type,
      exam_date: dateText,
      start_time: start,
      end_time: addMinutes(start, TYPE_MINUTES[type]!),
      location,
      capacity: String(capacity),
      total_bookings: '0',
      is_active: past || rand() > 0.1 ? 'true' : 'false',
    },
    tick(),
  )
  const chosen = shuffle(rand, demo.contacts).slice(0, seats + Math.floor(seats * 0.12))
  const statuses = chosen.map((_, i) => {
    if (i >= seats) return { status: 'cancelled', active: false }
    if (!past) return { status: 'confirmed', active: true }
    return { status: rand() < 0.85 ? 'completed' : 'no_show', active: true }
  })
  chosen.forEach((contact, i) => demoBooking(demo, exam, contact, statuses[i]!))
  store.update(exam, { total_bookings: String(countSeats(statuses)) }, tick())
}

function demoBooking(
  demo: Demo,
  exam: Rec,
  contact: Rec,
  { status, active }: { status: string; active: boolean },
): void {
  const date = exam.props.exam_date!
  const booking = demo.store.create(
    BOOKINGS,
    {
      booking_id: `BK-${date.replace(/-/g, '')}-${String(++demo.bookingSeq).padStart(5, '0')}`,
      mock_exam_id: exam.id,
      contact_id: contact.id,
      student_id: contact.props.student_id!,
      student_name: `${contact.props.firstname} ${contact.props.lastname}`,
      student_email: contact.props.email!,
      booking_status: status,
      is_active: active ? 'true' : 'false',
      attendance: status === 'completed' ? 'Yes' : status === 'no_show' ? 'No' : null,
      attending_location: exam.props.location!,
      exam_date: date,
      dominant_hand: demo.rand() < 0.88 ? 'right' : 'left',
    },
    demo.tick(),
  )
  link(demo.store, booking, exam, contact)
}

function shuffle<T>(rand: () => number, items: readonly T[]): T[] {
  const copy = [...items]
  for (let i = copy.length - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1))
    ;[copy[i], copy[j]] = [copy[j]!, copy[i]!]
  }
  return copy
}

/** Identical for the same N on every run: fixed clock, fixed dates, no randomness. Yields after each exam. */
function* seedBulk(store: Store, bookings: number): Generator<void> {
  let clock = Date.UTC(2026, 0, 1)
  const tick = (): number => (clock += 1000)
  const contactCount = Math.min(Math.ceil(bookings / 20), 5000)
  const contacts: Rec[] = []
  for (let i = 0; i < contactCount; i++) {
    const n = String(i + 1).padStart(6, '0')
    contacts.push(
      store.create(
        CONTACTS,
        {
          firstname: `Student${n}`,
          lastname: 'Bulk',
          email: `student${n}@bulk.example.com`,
          student_id: `S${n}`,
        },
        tick(),
      ),
    )
  }
  // One name string per student, not one per booking: a million bookings share five thousand.
  const names = contacts.map((c) => `${c.props.firstname} Bulk`)
  const exams = Math.ceil(bookings / 100)
  for (let e = 0; e < exams; e++) {
    const date = isoDate(Date.UTC(2026, 2, 2) + (e % 120) * DAY)
    const type = TYPES[e % TYPES.length]!
    const location = LOCATIONS[e % LOCATIONS.length]!
    const start = STARTS[e % STARTS.length]!
    const exam = store.create(
      MOCK_EXAMS,
      {
        mock_exam_name: `${type} ${e + 1} – ${location}`,
        mock_type: type,
        exam_date: date,
        start_time: start,
        end_time: addMinutes(start, TYPE_MINUTES[type]!),
        location,
        capacity: '100',
        total_bookings: '0',
        is_active: 'true',
      },
      tick(),
    )
    const count = Math.min(100, bookings - e * 100)
    const statuses = Array.from({ length: count }, (_, j) => {
      const k = j % 20
      const status = k === 0 ? 'cancelled' : k === 1 ? 'no_show' : k === 2 ? 'completed' : 'confirmed'
      return { status, active: status !== 'cancelled' }
    })
    statuses.forEach(({ status, active }, j) => {
      const seq = e * 100 + j
      const contact = contacts.length ? contacts[seq % contacts.length] : undefined
      const name = contacts.length ? names[seq % contacts.length]! : ''
      const booking = store.create(
        BOOKINGS,
        {
          booking_id: `BK-${String(seq + 1).padStart(8, '0')}`,
          mock_exam_id: exam.id,
          contact_id: contact?.id ?? '',
          student_id: contact?.props.student_id ?? '',
          student_name: name,
          student_email: contact?.props.email ?? '',
          booking_status: status,
          is_active: active ? 'true' : 'false',
          attendance: status === 'completed' ? 'Yes' : status === 'no_show' ? 'No' : null,
          attending_location: location,
          exam_date: date,
          dominant_hand: j % 9 === 0 ? 'left' : 'right',
        },
        tick(),
      )
      link(store, booking, exam, contact)
    })
    store.update(exam, { total_bookings: String(countSeats(statuses)) }, tick())
    yield
  }
}

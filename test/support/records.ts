// Builders of replica records (an exam, its bookings) with production-shaped values, for tests and benchmarks.
import { BOOKING_FIELDS } from '../../src/model/objects/booking.js'
import { EXAM_FIELDS } from '../../src/model/objects/exam.js'
import { blankRecord } from '../../src/model/objects/field.js'
import type { BookingRecord, ExamRecord } from '../../src/model/records.js'

let nextId = 1000
const newId = () => String(nextId++)

export function makeExam(overrides: Partial<ExamRecord> = {}): ExamRecord {
  return blankRecord(EXAM_FIELDS, newId(), {
    mock_exam_name: 'Clinical Skills — Mississauga',
    mock_type: 'Clinical Skills',
    exam_date: '2026-12-05',
    start_time: '09:00',
    end_time: '12:00',
    location: 'Mississauga',
    capacity: 10,
    total_bookings: 0,
    is_active: 'true',
    ...overrides,
  })
}

export function makeBooking(exam: ExamRecord, overrides: Partial<BookingRecord> = {}): BookingRecord {
  const id = newId()
  // Fields not named here (contact_id, attendance, any added later) start blank.
  return blankRecord(BOOKING_FIELDS, id, {
    booking_id: `bk-${id}`,
    mock_exam_id: exam.hubspot_id,
    student_id: `S${id}`,
    student_name: `Student ${id}`,
    student_email: `student${id}@example.com`,
    booking_status: 'confirmed',
    is_active: 'true',
    attending_location: exam.location,
    exam_date: exam.exam_date,
    dominant_hand: 'right',
    ...overrides,
  })
}

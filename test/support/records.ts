// Builders of replica records (an exam, its bookings) with production-shaped values, for tests and benchmarks.
import type { BookingRecord, ExamRecord } from '../../src/model/records.js'

let nextId = 1000
const newId = () => String(nextId++)

export function makeExam(overrides: Partial<ExamRecord> = {}): ExamRecord {
  const now = new Date().toISOString()
  return {
    hubspot_id: newId(),
    mock_exam_name: 'Clinical Skills — Mississauga',
    mock_type: 'Clinical Skills',
    exam_date: '2026-12-05',
    start_time: '09:00',
    end_time: '12:00',
    location: 'Mississauga',
    capacity: 10,
    total_bookings: 0,
    is_active: 'true',
    created_at: now,
    updated_at: now,
    hs_lastmodifieddate: now,
    deleted_at: null,
    ...overrides,
  }
}

export function makeBooking(exam: ExamRecord, overrides: Partial<BookingRecord> = {}): BookingRecord {
  const now = new Date().toISOString()
  const id = newId()
  return {
    hubspot_id: id,
    booking_id: `bk-${id}`,
    mock_exam_id: exam.hubspot_id,
    contact_id: null,
    student_id: `S${id}`,
    student_name: `Student ${id}`,
    student_email: `student${id}@example.com`,
    booking_status: 'confirmed',
    is_active: 'true',
    attendance: null,
    attending_location: exam.location,
    exam_date: exam.exam_date,
    dominant_hand: 'right',
    created_at: now,
    updated_at: now,
    hs_lastmodifieddate: now,
    deleted_at: null,
    ...overrides,
  }
}

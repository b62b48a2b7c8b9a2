// The new-booking form of an exam, with its idempotency key fixed before the write is sent.
import { useState, type FormEvent } from 'react'
import { newIdempotencyKey, type BookingRecord, type ExamRecord } from '../../../src/client/index.js'
import { useApp } from '../app-context.js'

export function CreateBookingForm({
  exam,
  full,
  onAlert,
  onBooked,
  markOwnWrite,
}: {
  exam: ExamRecord
  full: boolean
  onAlert(message: string | null): void
  onBooked(booking: BookingRecord): void
  markOwnWrite(keys: (string | null | undefined)[]): void
}) {
  const { api, describeError } = useApp()
  const empty = {
    student_name: '',
    student_email: '',
    student_id: '',
    dominant_hand: '',
    attending_location: exam.location ?? '',
  }
  const [form, setForm] = useState(empty)
  const [busy, setBusy] = useState(false)
  const set = (key: keyof typeof empty) => (e: { target: { value: string } }) =>
    setForm((f) => ({ ...f, [key]: e.target.value }))

  async function submit(e: FormEvent) {
    e.preventDefault()
    setBusy(true)
    onAlert(null)
    // Fixed before sending: the echo of this write is recognised, and a retry books once.
    const bookingId = newIdempotencyKey()
    markOwnWrite([bookingId, exam.hubspot_id])
    try {
      const { booking } = await api.createBooking({
        examId: exam.hubspot_id,
        booking_id: bookingId,
        student_name: form.student_name.trim(),
        student_email: form.student_email.trim(),
        ...(form.student_id.trim() ? { student_id: form.student_id.trim() } : {}),
        ...(form.dominant_hand === 'left' || form.dominant_hand === 'right'
          ? { dominant_hand: form.dominant_hand }
          : {}),
        ...(form.attending_location.trim() ? { attending_location: form.attending_location.trim() } : {}),
      })
      markOwnWrite([booking.hubspot_id])
      setForm(empty)
      onBooked(booking)
    } catch (err) {
      onAlert(describeError(err))
    } finally {
      setBusy(false)
    }
  }

  return (
    <section className="card" aria-labelledby="new-booking-title">
      <h2 id="new-booking-title">New booking</h2>
      {full ? (
        <p className="muted small" data-testid="exam-full-note">
          Every seat is taken; the server will refuse new bookings unless one is cancelled.
        </p>
      ) : null}
      <form className="booking-form" onSubmit={submit} data-testid="create-booking-form">
        <div className="field">
          <label htmlFor="nb-name">Student name</label>
          <input
            id="nb-name"
            name="student_name"
            required
            value={form.student_name}
            onChange={set('student_name')}
            autoComplete="off"
          />
        </div>
        <div className="field">
          <label htmlFor="nb-email">Student email</label>
          <input
            id="nb-email"
            name="student_email"
            type="email"
            required
            value={form.student_email}
            onChange={set('student_email')}
            autoComplete="off"
          />
        </div>
        <div className="field">
          <label htmlFor="nb-id">
            Student ID <span className="muted">(optional)</span>
          </label>
          <input id="nb-id" name="student_id" value={form.student_id} onChange={set('student_id')} autoComplete="off" />
        </div>
        <div className="field">
          <label htmlFor="nb-hand">
            Dominant hand <span className="muted">(optional)</span>
          </label>
          <select id="nb-hand" name="dominant_hand" value={form.dominant_hand} onChange={set('dominant_hand')}>
            <option value="">—</option>
            <option value="left">Left</option>
            <option value="right">Right</option>
          </select>
        </div>
        <div className="field">
          <label htmlFor="nb-location">
            Attending location <span className="muted">(optional)</span>
          </label>
          <input
            id="nb-location"
            name="attending_location"
            value={form.attending_location}
            onChange={set('attending_location')}
          />
        </div>
        <button type="submit" className="button button--primary" disabled={busy} data-testid="create-booking-submit">
          {busy ? 'Booking…' : 'Book seat'}
        </button>
      </form>
    </section>
  )
}

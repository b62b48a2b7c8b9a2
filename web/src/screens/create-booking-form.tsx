// The new-booking form of an exam, with its idempotency key fixed before the write is sent.
import { useState, type FormEvent } from 'react'
import { newIdempotencyKey, type BookingRecord, type ExamRecord } from '../../../src/client/index.js'
import { useApp } from '../app-context.js'
import { InputField, SelectField } from '../components/form-field.js'
import { useForm } from '../use-form.js'

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
  const { form, setForm, bind } = useForm(empty)
  const [busy, setBusy] = useState(false)

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
        <InputField id="nb-name" label="Student name" required autoComplete="off" {...bind('student_name')} />
        <InputField
          id="nb-email"
          label="Student email"
          type="email"
          required
          autoComplete="off"
          {...bind('student_email')}
        />
        <InputField id="nb-id" label="Student ID" optional autoComplete="off" {...bind('student_id')} />
        <SelectField id="nb-hand" label="Dominant hand" optional {...bind('dominant_hand')}>
          <option value="">—</option>
          <option value="left">Left</option>
          <option value="right">Right</option>
        </SelectField>
        <InputField id="nb-location" label="Attending location" optional {...bind('attending_location')} />
        <button type="submit" className="button button--primary" disabled={busy} data-testid="create-booking-submit">
          {busy ? 'Booking…' : 'Book seat'}
        </button>
      </form>
    </section>
  )
}

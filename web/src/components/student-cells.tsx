// A booking row's student cells (name as the row header, email, student id), the same in every table that lists bookings.
import type { BookingRecord } from '../../../src/client/index.js'

export function StudentCells({
  booking: b,
}: {
  booking: Pick<BookingRecord, 'student_name' | 'student_email' | 'student_id'>
}) {
  return (
    <>
      <th scope="row" data-label="Student">
        {b.student_name ?? '—'}
      </th>
      <td data-label="Email" className="cell-wide cell-email">
        {b.student_email ?? '—'}
      </td>
      <td data-label="Student ID">{b.student_id ?? '—'}</td>
    </>
  )
}

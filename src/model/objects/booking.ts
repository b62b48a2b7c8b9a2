// The booking's field catalogue: each field once, with its HubSpot property, replica column, write rules, CSV and GraphQL.
import { z } from 'zod'
import { hubspotId } from '../contract/common.js'
import { ATTENDANCE_VALUES, type Attendance } from './enums.js'
import { dayCodec, enumCodec, name, textField } from './field.js'

/** The idempotency key's alphabet, shared by the body field and the Idempotency-Key header. */
export const IDEMPOTENCY_KEY = /^[A-Za-z0-9._:-]{8,100}$/
export const IDEMPOTENCY_KEY_RULE = 'must be 8-100 characters of letters, digits, . _ : -'

/** The seed keeps attendance in HubSpot as "Yes" / "No" (other tools read it there); the API speaks `attended` / `no_show`. */
export const ATTENDANCE_IN_HUBSPOT: Record<Attendance, string> = { attended: 'Yes', no_show: 'No' }

/** The longest notes a booking takes (HubSpot's own limit on a text property is far higher). */
const NOTES_MAX = 2000

/** In the order the API serialises a booking (after hubspot_id; created_at and the versioning follow). */
export const BOOKING_FIELDS = {
  booking_id: textField({
    property: 'booking_id',
    unique: true,
    create: z.string().regex(IDEMPOTENCY_KEY, IDEMPOTENCY_KEY_RULE).optional(),
    description: 'the idempotency key of its create',
  }),
  mock_exam_id: textField({ property: 'mock_exam_id', graphql: 'ID' }),
  contact_id: textField({ property: 'contact_id', create: hubspotId.optional(), csv: false }),
  student_id: textField({ property: 'student_id', create: name(100).optional() }),
  student_name: textField({ property: 'student_name', create: name(200) }),
  student_email: textField({
    property: 'student_email',
    create: z.email('must be an email address').max(254),
  }),
  booking_status: textField({
    property: 'booking_status',
    description: 'confirmed, cancelled, completed or no_show',
  }),
  is_active: textField({ property: 'is_active', csv: false }),
  attendance: textField({
    property: 'attendance',
    codec: enumCodec('attendance', ATTENDANCE_IN_HUBSPOT),
    update: z
      .enum(ATTENDANCE_VALUES, 'must be "attended", "no_show" or null (to unset)')
      .nullable()
      .optional()
      .meta({ description: '"attended", "no_show", or null to unset' }),
  }),
  attending_location: textField({
    property: 'attending_location',
    create: name(200).optional(),
    update: name(200).nullable().optional().meta({ description: 'where the student sat; null to unset' }),
  }),
  exam_date: textField({ property: 'exam_date', codec: dayCodec, column: 'timestamptz', propertyType: 'date' }),
  dominant_hand: textField({ property: 'dominant_hand', create: z.enum(['left', 'right']).optional() }),
  notes: textField({
    property: 'notes',
    create: z.string().max(NOTES_MAX, `must be at most ${NOTES_MAX} characters`).optional(),
    description: `free text about the booking, at most ${NOTES_MAX} characters`,
  }),
}

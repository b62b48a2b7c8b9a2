// The mock exam's field catalogue: each field once, with its HubSpot property, replica column, write rules, CSV and GraphQL.
import { z } from 'zod'
import { isoDate } from '../contract/common.js'
import { dayCodec, integer0Codec, integerCodec, name, textField, type FieldDef } from './field.js'

const clock = z.string().regex(/^([01]\d|2[0-3]):[0-5]\d$/, 'must be a time as HH:MM (24-hour)')
const capacity = z
  .number()
  .int('must be a whole number')
  .min(1, 'must be at least 1')
  .max(10_000, 'must be at most 10000')

/** A field a client sets on create (`create`) and may change alone on update. */
function editable<T extends z.ZodType>(rule: T) {
  return { create: rule, update: rule.optional() }
}

/** In the order the API serialises an exam (after hubspot_id; created_at and the versioning follow). */
export const EXAM_FIELDS = {
  mock_exam_name: textField({ property: 'mock_exam_name', ...editable(name(200)) }),
  mock_type: textField({ property: 'mock_type', ...editable(name(100)) }),
  exam_date: textField({
    property: 'exam_date',
    codec: dayCodec,
    column: 'date',
    propertyType: 'date',
    description: 'YYYY-MM-DD',
    ...editable(isoDate),
  }),
  start_time: textField({ property: 'start_time', description: 'HH:MM, 24-hour', ...editable(clock) }),
  end_time: textField({ property: 'end_time', description: 'HH:MM, 24-hour', ...editable(clock) }),
  location: textField({ property: 'location', ...editable(name(200)) }),
  capacity: {
    record: z.number().int().nullable(),
    property: 'capacity',
    codec: integerCodec,
    column: 'integer',
    propertyType: 'number',
    csv: true,
    graphql: 'Int',
    ...editable(capacity),
  } satisfies FieldDef<number | null>,
  total_bookings: {
    record: z.number().int(),
    property: 'total_bookings',
    codec: integer0Codec,
    column: 'integer',
    propertyType: 'number',
    csv: true,
    graphql: 'Int',
  } satisfies FieldDef<number>,
  is_active: textField({
    property: 'is_active',
    description: '"true" or "false", text as in the seed',
    // Sent as a boolean; HubSpot and the replica keep the seed's text "true" / "false".
    create: z.boolean().optional(),
    update: z.boolean().optional(),
  }),
}

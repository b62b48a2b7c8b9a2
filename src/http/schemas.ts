// Request schemas shared by the routes: zod validates them and the OpenAPI document is generated from them.
import { z } from 'zod'

/** HubSpot object ids are numeric strings. */
export const hubspotId = z.string().regex(/^\d{1,20}$/, 'must be a HubSpot id (digits)')

export const isoDate = z
  .string()
  .regex(/^\d{4}-\d{2}-\d{2}$/, 'must be a date as YYYY-MM-DD')
  .refine(
    (value) => !Number.isNaN(Date.parse(value)) && new Date(value).toISOString().startsWith(value),
    'is not a real calendar date',
  )

export const idParams = z.object({ id: hubspotId })

export const examListQuery = z.object({
  is_active: z.enum(['true', 'false']).optional(),
  startDate: isoDate.optional(),
  endDate: isoDate.optional(),
})

/** Cursor positions in the change log. */
export const seqCursor = z.string().regex(/^\d{1,19}$/, 'must be a change-log seq (digits)')

/** "a,b,c" or repeated parameters. */
export const idList = z
  .union([z.string(), z.array(z.string())])
  .transform((value) => (Array.isArray(value) ? value : value.split(',')).map((id) => id.trim()).filter(Boolean))
  .pipe(z.array(hubspotId).max(500))

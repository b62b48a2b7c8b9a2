// The HTTP contract of GET /api/sync/doctor: the checks `hubmirror doctor` runs, each with a fix.
import { z } from 'zod'
import { errorResponses, success } from './common.js'

export const doctorCheck = z.object({
  id: z.string(),
  title: z.string(),
  status: z.enum(['ok', 'warn', 'fail', 'skip']),
  summary: z.string(),
  fix: z.string().optional(),
  details: z.array(z.string()).optional(),
})

export const doctorReport = z
  .object({ ok: z.boolean(), checked_at: z.string(), checks: z.array(doctorCheck) })
  .meta({ id: 'DoctorReport' })

export const doctorBody = success({ doctor: doctorReport })
export const doctorResponses = { 200: doctorBody, ...errorResponses } as const

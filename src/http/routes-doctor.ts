// GET /api/sync/doctor: the same checks as `hubmirror doctor`, for the dashboard's Sync status screen.
import type { FastifyInstance } from 'fastify'
import type { ZodTypeProvider } from 'fastify-type-provider-zod'
import type { DoctorReport } from '../doctor/index.js'
import { doctorResponses } from '../model/contract/doctor.js'

/** Each run asks HubSpot once and round-trips a NOTIFY: dashboards polling it share one run for this long. */
const DOCTOR_CACHE_MS = 15_000

export function registerDoctorRoutes(root: FastifyInstance, run: () => Promise<DoctorReport>): void {
  const app = root.withTypeProvider<ZodTypeProvider>()
  let last: { at: number; report: Promise<DoctorReport> } | null = null
  app.get(
    '/api/sync/doctor',
    {
      config: { permission: 'exams.view' },
      schema: {
        tags: ['sync'],
        summary: 'Checks of the database, pool, RLS and grants, Redis, HubSpot, JWT and clock, each with a fix',
        response: doctorResponses,
      },
    },
    async () => {
      // Single flight: a run in progress, or one finished within the cache time, is shared.
      if (!last || Date.now() - last.at > DOCTOR_CACHE_MS) {
        const report = run()
        last = { at: Date.now(), report }
        report.catch(() => (last = null))
      }
      return { success: true as const, doctor: await last.report }
    },
  )
}

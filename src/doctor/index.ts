// `hubmirror doctor` and the dashboard's checks: is each dependency reachable, configured right and safe.
// One file per family of checks (database, redis, hubspot, clock, auth, data-dir); this one runs them all at once.
import { jwtCheck } from './auth.js'
import { bounded, type DoctorInput } from './common.js'
import { dataDirCheck } from './data-dir.js'
import { databaseChecks } from './database.js'
import { hubspotChecks } from './hubspot.js'
import { redisCheck } from './redis.js'
import { report, type DoctorReport } from './report.js'

export * from './report.js'
export type { DoctorInput } from './common.js'

export async function runDoctor(input: DoctorInput): Promise<DoctorReport> {
  const groups = await Promise.all([
    databaseChecks(input),
    bounded('redis', () => redisCheck(input.config)),
    hubspotChecks(input),
    bounded('jwt', () => jwtCheck(input.config)),
    bounded('data_dir', async () => dataDirCheck(input.config)),
  ])
  return report(groups.flat())
}

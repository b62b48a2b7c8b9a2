// `hubmirror doctor [--json]`: the checklist of what is wrong and how to fix it; exit 1 when anything failed.
import { loadConfig, type Config } from '../config/index.js'
import { formatReport, runDoctor, type DoctorReport } from '../doctor/index.js'
import { issueToken } from '../http/jwt.js'
import { openReplica, type ReplicaDriver } from '../replica/index.js'
import { booleanFlag, type ParsedArgs } from './args.js'

export async function doctorCommand(args: ParsedArgs): Promise<number> {
  const config = loadConfig()
  // Embedded state belongs to the running service: two processes must not open one PGlite
  // directory, so when the service answers, it runs the checks (and knows its emulator).
  const remote = config.databaseUrl ? null : await askRunningService(config)
  const result = remote ?? (await runLocally(config))
  if (booleanFlag(args, 'json')) console.log(JSON.stringify(result))
  else {
    if (remote) console.log(`(checked by the service running at ${serviceUrl(config)})\n`)
    console.log(formatReport(result))
  }
  return result.ok ? 0 : 1
}

async function runLocally(config: Config): Promise<DoctorReport> {
  let db: ReplicaDriver | null = null
  let dbError: unknown
  try {
    db = await openReplica(config, { onError: () => undefined })
  } catch (error) {
    dbError = error
  }
  try {
    const hubspot = config.hubspot.accessToken
      ? { baseUrl: config.hubspot.baseUrl ?? 'https://api.hubapi.com', accessToken: config.hubspot.accessToken }
      : config.hubspot.baseUrl
        ? { baseUrl: config.hubspot.baseUrl, accessToken: 'emulator' }
        : null
    return await runDoctor({
      config,
      db,
      dbError,
      hubspot,
      hubspotAbsent: hubspot
        ? undefined
        : 'no HUBSPOT_ACCESS_TOKEN: `hubmirror serve` runs its built-in emulator (start it and run doctor again to check it)',
    })
  } finally {
    await db?.close().catch(() => undefined)
  }
}

function serviceUrl(config: Config): string {
  const host = config.host === '0.0.0.0' || config.host === '::' ? '127.0.0.1' : config.host
  return `http://${host.includes(':') ? `[${host}]` : host}:${config.port}`
}

async function askRunningService(config: Config): Promise<DoctorReport | null> {
  try {
    const token = issueToken(config.jwtSecret, ['exams.view'], { subject: 'doctor', ttlSeconds: 60 })
    const response = await fetch(`${serviceUrl(config)}/api/sync/doctor`, {
      headers: { authorization: `Bearer ${token}` },
      signal: AbortSignal.timeout(20_000),
    })
    if (!response.ok) return null
    const body = (await response.json()) as { doctor?: DoctorReport }
    return body.doctor ?? null
  } catch {
    return null
  }
}

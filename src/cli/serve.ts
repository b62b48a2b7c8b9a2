// `hubmirror serve`: the service, with the embedded HubSpot emulator when no HubSpot token is configured.
import { join } from 'node:path'
import { createApp, type App } from '../app.js'
import { loadConfig, type Config } from '../config/index.js'
import { issueToken, PERMISSIONS } from '../http/jwt.js'
import { createLogger, type Logger } from '../logger.js'
import { removeServerRecord, writeServerRecord } from './running-server.js'

export interface EmbeddedHubSpot {
  baseUrl: string
  accessToken: string
  close(): Promise<void>
}

/** Real HubSpot when a token is set; else the emulator in-process, seeded with demo data on first run. */
export async function resolveHubSpot(config: Config, logger: Logger): Promise<EmbeddedHubSpot> {
  if (config.hubspot.accessToken) {
    return {
      baseUrl: config.hubspot.baseUrl ?? 'https://api.hubapi.com',
      accessToken: config.hubspot.accessToken,
      close: async () => {},
    }
  }
  const { startEmulator } = await import('../emulator/index.js')
  const emulator = await startEmulator({
    port: Number(process.env.HUBMIRROR_EMULATOR_PORT ?? 0),
    dataDir: join(config.dataDir, 'emulator'),
    seed: 'demo',
    rateLimit10s: config.hubspot.rateLimit10s,
    searchRatePerSecond: config.hubspot.searchRatePerSecond,
    dailyLimit: config.hubspot.dailyLimit,
    logger: { info: (message) => logger.info(message) },
  })
  logger.info({ url: emulator.url }, 'HubSpot emulator running (no HUBSPOT_ACCESS_TOKEN set)')
  return { baseUrl: emulator.url, accessToken: 'emulator', close: () => emulator.close() }
}

export function signInLink(config: Config, baseUrl: string): string {
  const token = issueToken(config.jwtSecret, PERMISSIONS, { subject: 'admin', ttlSeconds: 7 * 24 * 3600 })
  // In the fragment, so the token never reaches a server log or a Referer header.
  return `${baseUrl}/#token=${token}`
}

export async function serve(): Promise<number> {
  const config = loadConfig()
  const logger = createLogger(config.logLevel)
  const hubspot = await resolveHubSpot(config, logger)
  let app: App
  try {
    app = await createApp({ config, logger, hubspot })
  } catch (error) {
    await hubspot.close()
    throw error
  }
  await app.start?.()
  const address = await app.listen()
  const base = address.replace('://[::1]', '://localhost')
  // The CLI beside this server (`hubmirror reconcile` in a second terminal) finds it, and its emulator, here.
  writeServerRecord(config.dataDir, {
    pid: process.pid,
    url: base.replace('://0.0.0.0', '://127.0.0.1'),
    emulator_url: config.hubspot.accessToken ? null : hubspot.baseUrl,
    embedded_database: !config.databaseUrl,
    started_at: new Date().toISOString(),
  })
  console.log(`\n  hubmirror is running: ${base}\n  sign in: ${signInLink(config, base)}\n`)

  await new Promise<void>((resolve) => {
    const stop = () => resolve()
    process.once('SIGINT', stop)
    process.once('SIGTERM', stop)
  })
  logger.info('shutting down')
  removeServerRecord(config.dataDir)
  await app.close()
  await hubspot.close()
  return 0
}

// `hubmirror serve`: the service, with the embedded HubSpot emulator when no HubSpot token is configured.
import { randomBytes } from 'node:crypto'
import { join } from 'node:path'
import { createApp, type App } from '../app.js'
import { PRIVATE_UMASK, securePrivateTree } from '../config/data-dir.js'
import { loadConfig, type Config } from '../config/index.js'
import type { SignInCodes } from '../http/sign-in-codes.js'
import { createLogger, type Logger } from '../logger.js'
import { booleanFlag, type ParsedArgs } from './args.js'
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
  // Random per start: another local user who finds the port still cannot read students' data,
  // reset the portal or inject faults. The CLI beside the server reads it from the 0600 server.json.
  const token = randomBytes(24).toString('base64url')
  const emulator = await startEmulator({
    token,
    port: Number(process.env.HUBMIRROR_EMULATOR_PORT ?? 0),
    dataDir: join(config.dataDir, 'emulator'),
    seed: 'demo',
    rateLimit10s: config.hubspot.rateLimit10s,
    searchRatePerSecond: config.hubspot.searchRatePerSecond,
    dailyLimit: config.hubspot.dailyLimit,
    logger: { info: (message) => logger.info(message) },
  })
  logger.info({ url: emulator.url }, 'HubSpot emulator running (no HUBSPOT_ACCESS_TOKEN set)')
  return { baseUrl: emulator.url, accessToken: token, close: () => emulator.close() }
}

/**
 * A one-time code, not a bearer: whoever reads it later from a scrollback or a log finds it used
 * or expired. In the fragment, so it never reaches a server log or a Referer header.
 */
function signInLink(codes: SignInCodes, baseUrl: string): string {
  return `${baseUrl}/#code=${codes.issue().code}`
}

/** The lines `serve` prints once listening: the link only to a terminal (a person), or when asked for. */
function startBanner(base: string, link: (() => string) | null): string {
  if (link)
    return `\n  hubmirror is running: ${base}\n  sign in: ${link()}\n  (a one-time link, valid for 10 minutes)\n`
  return (
    `\n  hubmirror is running: ${base}\n` +
    '  no sign-in link printed: stdout is not a terminal (logs keep what is printed).\n' +
    '  Start with --print-link for a one-time link, or run `npx hubmirror token` for a bearer token.\n'
  )
}

export async function serve(args?: ParsedArgs): Promise<number> {
  // Before anything is created: PGlite, the emulator and the secret files are the owner's only,
  // including the files PGlite makes long after start.
  process.umask(PRIVATE_UMASK)
  const config = loadConfig()
  const logger = createLogger(config.logLevel)
  const fixed = securePrivateTree(config.dataDir)
  if (fixed > 0)
    logger.warn(
      { dataDir: config.dataDir, fixed },
      'the data dir had files or folders other users could read; made them owner-only (0600/0700)',
    )
  const printLink = (args ? booleanFlag(args, 'print-link') : false) || process.stdout.isTTY === true
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
    emulator_token: config.hubspot.accessToken ? null : hubspot.accessToken,
    embedded_database: !config.databaseUrl,
    started_at: new Date().toISOString(),
  })
  console.log(startBanner(base, printLink ? () => signInLink(app.signInCodes, base) : null))

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

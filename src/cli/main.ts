// The hubmirror CLI: dispatches a command word to its implementation and returns an exit code.
import { ConfigError, loadConfig } from '../config/index.js'
import { issueToken, PERMISSIONS } from '../http/jwt.js'
import { parseArgs, stringFlag } from './args.js'

const USAGE = `usage: hubmirror <command>

  serve                                  run the service (what npm start runs)
  emulator --port N [--data-dir D] [--seed demo|none|N] [--token T]
           [--rate-limit-10s R] [--search-rate-s S] [--daily-limit D] [--search-lag-ms L]
           [--require objectType.property ...]   (creates without it get HubSpot's 400 VALIDATION_ERROR)
                                         run the HubSpot emulator alone
  db migrate                             apply schema migrations
  db policies --read PERMISSION | --revoke
                                         let Supabase's authenticated users holding PERMISSION read the
                                         exam and booking tables (RLS policies), or remove that again
  backfill [--restart] [--json]          one-time HubSpot → replica load: resumable, with progress
  sync [--json]                          one incremental pull
  reconcile [--fix] [--json]             compare HubSpot and the replica; report or repair drift (exit 1: drift)
  token --permissions a,b [--ttl 7d]     print a signed bearer token
  doctor [--json]                        check the database, pool, RLS and grants, Redis, HubSpot, JWT and
                                         clock; prints a fix for each failure (exit 1: something failed)
`

type Command = (argv: string[]) => Promise<number>

const commands: Record<string, Command> = {
  serve: async () => (await import('./serve.js')).serve(),
  emulator: async (argv) => (await import('../emulator/index.js')).runEmulatorCli(argv).then(() => 0),
  backfill: async (argv) => (await import('./sync.js')).backfillCommand(argv),
  sync: async (argv) => (await import('./sync.js')).syncCommand(argv),
  reconcile: async (argv) => (await import('./sync.js')).reconcileCommand(argv),
  db: async (argv) => (await import('./db.js')).dbCommand(argv),
  doctor: async (argv) => (await import('./doctor.js')).doctorCommand(argv),
  token: async (argv) => {
    const args = parseArgs(argv)
    const requested = (stringFlag(args, 'permissions') ?? PERMISSIONS.join(','))
      .split(',')
      .map((p) => p.trim())
      .filter(Boolean)
    const unknown = requested.filter((p) => !(PERMISSIONS as readonly string[]).includes(p))
    if (unknown.length)
      return usageError(`token: unknown permission(s) ${unknown.join(', ')}; known: ${PERMISSIONS.join(', ')}`)
    const ttl = stringFlag(args, 'ttl')
    const ttlSeconds = ttl ? parseTtl(ttl) : undefined
    if (ttl && !ttlSeconds) return usageError('token: --ttl takes a duration such as 12h or 7d')
    console.log(issueToken(loadConfig().jwtSecret, requested, { ttlSeconds, subject: stringFlag(args, 'subject') }))
    return 0
  },
}

function parseTtl(text: string): number | undefined {
  const match = /^(\d+)([smhd])$/.exec(text)
  if (!match) return undefined
  return Number(match[1]) * { s: 1, m: 60, h: 3600, d: 86400 }[match[2] as 's' | 'm' | 'h' | 'd']
}

function usageError(message: string): number {
  console.error(message)
  return 2
}

export async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv
  if (!name || name === '--help' || name === 'help') {
    console.log(USAGE)
    return name ? 0 : 2
  }
  const command = commands[name]
  if (!command) return usageError(`unknown command "${name}"\n\n${USAGE}`)
  try {
    return await command(rest)
  } catch (error) {
    if (error instanceof ConfigError) return usageError(`configuration error: ${error.message}`)
    console.error(`hubmirror ${name} failed: ${(error as Error).message}`)
    return 1
  }
}

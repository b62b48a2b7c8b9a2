// `hubmirror token`: prints a bearer token signed with the configured (or data-dir) secret.
import { loadConfig } from '../config/index.js'
import { issueToken, PERMISSIONS } from '../http/jwt.js'
import { stringFlag, UsageError, type ParsedArgs } from './args.js'

const DEFAULT_TTL_SECONDS = 7 * 86_400

export function parseTtl(text: string): number | undefined {
  const match = /^(\d+)([smhd])$/.exec(text)
  if (!match || Number(match[1]) === 0) return undefined
  return Number(match[1]) * { s: 1, m: 60, h: 3600, d: 86400 }[match[2] as 's' | 'm' | 'h' | 'd']
}

export async function tokenCommand(args: ParsedArgs): Promise<number> {
  const requested = (stringFlag(args, 'permissions') ?? PERMISSIONS.join(','))
    .split(',')
    .map((p) => p.trim())
    .filter(Boolean)
  if (requested.length === 0) throw new UsageError('--permissions lists no permission')
  const unknown = requested.filter((p) => !(PERMISSIONS as readonly string[]).includes(p))
  if (unknown.length)
    throw new UsageError(`unknown permission(s) ${unknown.join(', ')}; known: ${PERMISSIONS.join(', ')}`)
  const ttl = stringFlag(args, 'ttl')
  const ttlSeconds = ttl === undefined ? DEFAULT_TTL_SECONDS : parseTtl(ttl)
  if (!ttlSeconds) throw new UsageError('--ttl takes a duration such as 30m, 12h or 7d')
  const subject = stringFlag(args, 'subject') ?? 'admin'
  process.stdout.write(`${issueToken(loadConfig().jwtSecret, requested, { ttlSeconds, subject })}\n`)
  return 0
}

// The auth check: where the JWT secret comes from, and whether a configured JWKS answers with keys.
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import type { Config } from '../config/index.js'
import { message } from './common.js'
import { check, type Check } from './report.js'

/** Whether the secret in use is the one generated into the data dir (the config does not say where it came from). */
function generatedSecret(config: Config): boolean {
  try {
    return readFileSync(join(config.dataDir, 'jwt-secret'), 'utf8').trim() === config.jwtSecret
  } catch {
    return false
  }
}

export async function jwtCheck(config: Config): Promise<Check> {
  const fromEnv = !generatedSecret(config)
  const secret = fromEnv ? 'HS256 secret from HUBMIRROR_JWT_SECRET' : 'HS256 secret generated into the data dir'
  const url = config.jwks?.url ?? null
  if (!url) {
    // Several instances with their own generated secrets refuse each other's tokens.
    if (!fromEnv && config.databaseUrl)
      return check('jwt', 'warn', `${secret}: each instance with its own data dir signs with a different one`, {
        fix: 'set HUBMIRROR_JWT_SECRET (the same on every instance; a Supabase project’s JWT secret works), or SUPABASE_URL to verify Supabase tokens by JWKS',
      })
    return check('jwt', 'ok', secret)
  }
  let keys: unknown[] | null = null
  let failure: string | null = null
  try {
    const response = await fetch(url, { signal: AbortSignal.timeout(4_000), headers: { accept: 'application/json' } })
    if (!response.ok) failure = `answered ${response.status}`
    else {
      const body = (await response.json().catch(() => null)) as { keys?: unknown } | null
      keys = Array.isArray(body?.keys) ? body.keys : null
      if (!keys) failure = 'is not a JWKS (no "keys" array)'
    }
  } catch (error) {
    failure = `did not answer (${message(error)})`
  }
  if (failure)
    return check('jwt', 'fail', `the JWKS at ${url} ${failure}`, {
      fix: 'check SUPABASE_URL / HUBMIRROR_JWKS_URL (https://<ref>.supabase.co/auth/v1/.well-known/jwks.json) and the network',
    })
  if (keys!.length === 0)
    return check(
      'jwt',
      'warn',
      `the JWKS at ${url} holds no keys (the project still signs with the legacy secret); ${secret}`,
      {
        fix: 'set HUBMIRROR_JWT_SECRET to the project’s JWT secret, or move the project to signing keys',
      },
    )
  return check(
    'jwt',
    'ok',
    `JWKS at ${url}: ${keys!.length} key(s), issuer ${config.jwks!.issuer}, audience ${config.jwks!.audience}; ${secret}`,
  )
}

// An issuer's JSON Web Key Set, cached the way Supabase rotates keys: kept ~10 min, refetched for an unknown kid.
import {
  createLocalJWKSet,
  errors,
  type FlattenedJWSInput,
  type JSONWebKeySet,
  type JWK,
  type JWSHeaderParameters,
} from 'jose'
import { AppError } from '../errors.js'

/** Supabase's edge caches its JWKS for about 10 minutes; keeping ours as long adds at most as much. */
const MAX_AGE_MS = 10 * 60_000
/** An unknown kid (a key rotated in) refetches at most this often, so forged kids cannot flood the issuer. */
const COOLDOWN_MS = 30_000
const FETCH_TIMEOUT_MS = 5_000
/** A key set is a few keys; anything much bigger is not one. */
const MAX_BODY_BYTES = 256 * 1024

export const ASYMMETRIC_ALGORITHMS = ['ES256', 'RS256', 'EdDSA', 'Ed25519']

export interface JwksCacheOptions {
  fetch?: typeof fetch
  now?: () => number
  log?: { warn(obj: object, msg: string): void }
}

type KeyLookup = ReturnType<typeof createLocalJWKSet>

/**
 * jose's createRemoteJWKSet refetches once its cache is stale and fails every token while the
 * issuer is down. Here stale keys keep verifying while a refetch runs in the background, and a
 * failed refetch keeps the keys already known: an unreachable issuer locks out no one whose key
 * is cached. jose still selects the key (kid, alg, kty) and verifies.
 *
 *   empty ─fetch ok─► fresh ─10 min─► stale ─background fetch ok─► fresh
 *     │                 └ unknown kid, last fetch ≥30 s ago ─► refetch, then decide
 *     └ fetch fails ─► 503 (nothing to verify with); a stale set that fails to refresh stays in use
 */
export class JwksCache {
  readonly #url: string
  readonly #fetch: typeof fetch
  readonly #now: () => number
  readonly #log: JwksCacheOptions['log']
  #lookup: KeyLookup | null = null
  #fetchedAt = -Infinity
  #attemptedAt = -Infinity
  #inflight: Promise<void> | null = null

  constructor(url: string, options: JwksCacheOptions = {}) {
    this.#url = url
    this.#fetch = options.fetch ?? globalThis.fetch
    this.#now = options.now ?? (() => Date.now())
    this.#log = options.log
  }

  /** jose's key-lookup callback: the key for this token's header, from the cached set. */
  readonly getKey = async (header: JWSHeaderParameters, token: FlattenedJWSInput): Promise<CryptoKey | Uint8Array> => {
    if (!this.#lookup) await this.#refresh()
    else if (this.#now() - this.#fetchedAt > MAX_AGE_MS) void this.#refresh().catch(() => undefined)
    const lookup = this.#lookup
    if (!lookup) throw unavailable()
    try {
      return await lookup(header, token)
    } catch (error) {
      if (!(error instanceof errors.JWKSNoMatchingKey) || this.#now() - this.#attemptedAt < COOLDOWN_MS) throw error
      await this.#refresh().catch(() => undefined)
      return this.#lookup!(header, token)
    }
  }

  /** One fetch at a time; on failure the previous set (if any) stays. */
  #refresh(): Promise<void> {
    this.#inflight ??= this.#load().finally(() => (this.#inflight = null))
    return this.#inflight
  }

  async #load(): Promise<void> {
    this.#attemptedAt = this.#now()
    try {
      const keys = await this.#download()
      this.#lookup = createLocalJWKSet({ keys })
      this.#fetchedAt = this.#now()
    } catch (error) {
      this.#log?.warn({ url: this.#url, reason: (error as Error).message }, 'auth: could not fetch the JWKS')
      if (!this.#lookup) throw unavailable()
    }
  }

  async #download(): Promise<JWK[]> {
    const res = await this.#fetch(this.#url, {
      headers: { accept: 'application/json' },
      signal: AbortSignal.timeout(FETCH_TIMEOUT_MS),
      redirect: 'error',
    })
    if (!res.ok) {
      await res.body?.cancel().catch(() => undefined)
      throw new Error(`HTTP ${res.status}`)
    }
    const text = await res.text()
    if (text.length > MAX_BODY_BYTES) throw new Error('response too large for a key set')
    const body = JSON.parse(text) as Partial<JSONWebKeySet> | null
    if (!body || !Array.isArray(body.keys)) throw new Error('response has no "keys" array')
    return body.keys.filter(isVerificationKey)
  }
}

/**
 * Public signing keys only: a symmetric ("oct") key in a published set would let anyone who read
 * the set sign tokens, and a key for another use or algorithm is not for verifying ours.
 */
function isVerificationKey(key: JWK): boolean {
  if (!key || typeof key !== 'object' || key.kty === 'oct' || 'd' in key) return false
  if (key.use !== undefined && key.use !== 'sig') return false
  if (key.key_ops !== undefined && !key.key_ops.includes('verify')) return false
  return key.alg === undefined || ASYMMETRIC_ALGORITHMS.includes(key.alg)
}

function unavailable(): AppError {
  return new AppError('E_AUTH_UNAVAILABLE', 'the token issuer’s signing keys could not be fetched; try again shortly', {
    retryAfterSeconds: 5,
  })
}

// Bearer-token verification with jose: HS256 with our secret, ES256/RS256/EdDSA from a JWKS, checked claims, a bounded cache.
import { createHash } from 'node:crypto'
import { decodeProtectedHeader, errors, jwtVerify, type JWTPayload, type JWTVerifyOptions } from 'jose'
import type { Config } from '../config/index.js'
import { AppError, isAppError } from '../errors.js'
import { ASYMMETRIC_ALGORITHMS, JwksCache, type JwksCacheOptions } from './jwks-cache.js'
import { grantedPermissions, OWN_AUDIENCE, OWN_ISSUER, type TokenClaims } from './jwt.js'

/** Clock skew allowed on `exp` and `nbf` alike; streams end at `exp` itself (token-deadline.ts). */
export const CLOCK_LEEWAY_SECONDS = 5
const VERIFIED_CACHE_SIZE = 10_000

export interface VerifiedToken {
  permissions: ReadonlySet<string>
  /** The `exp` claim, in ms since the epoch. */
  expiresAtMs: number
  /** The `sub` claim: who the change log and history name as having made a change; null without one. */
  subject: string | null
  /**
   * Whom limits and idempotency keys are scoped to: `sub:<sub>`, or for a token without a subject
   * a fingerprint of the token itself, so that such tokens are still told apart one by one.
   */
  caller: string
}

/** Worked out once, when the token is verified; every route reads it from there. */
export function callerOf(token: string, sub: unknown): Pick<VerifiedToken, 'subject' | 'caller'> {
  if (typeof sub === 'string' && sub !== '') return { subject: sub, caller: `sub:${sub}` }
  return { subject: null, caller: `token:${createHash('sha256').update(token).digest('base64url').slice(0, 16)}` }
}

export interface TokenVerifierOptions extends JwksCacheOptions {
  secret: string | null
  jwks: Config['jwks']
  claims: Config['jwtClaims']
}

/**
 * Which key verifies a token is decided by its `alg` alone, before any key is touched: HS256 only
 * ever meets the configured secret, the asymmetric algorithms only the JWKS (which holds no
 * symmetric keys), and anything else (`none` included) is refused. So a public key can never be
 * used as an HMAC secret, and both kinds can be on at once during a migration.
 */
export class TokenVerifier {
  readonly #secret: Uint8Array | null
  readonly #jwks: JwksCache | null
  readonly #hmacOptions: JWTVerifyOptions
  readonly #jwksOptions: JWTVerifyOptions | null
  readonly #now: () => number
  /**
   * Tokens whose signature and claims checked out, until they expire: a signature check per
   * request was a fifth of a cached read's CPU (bench/read-path), and ES256 costs more than HMAC.
   * Keyed by the whole token, so a forged one is still checked (and refused) every time.
   */
  readonly #verified = new Map<string, VerifiedToken>()

  constructor(options: TokenVerifierOptions) {
    this.#now = options.now ?? (() => Date.now())
    this.#secret = options.secret ? new TextEncoder().encode(options.secret) : null
    const common = { clockTolerance: CLOCK_LEEWAY_SECONDS, requiredClaims: ['exp'] }
    // Our own tokens say iss/aud "hubmirror"; a Supabase project's legacy HS256 tokens say its own.
    this.#hmacOptions = {
      ...common,
      algorithms: ['HS256'],
      audience: [options.claims.audience, OWN_AUDIENCE],
      ...(options.claims.issuer ? { issuer: [options.claims.issuer, OWN_ISSUER] } : {}),
    }
    this.#jwks = options.jwks ? new JwksCache(options.jwks.url, options) : null
    this.#jwksOptions = options.jwks
      ? {
          ...common,
          algorithms: ASYMMETRIC_ALGORITHMS,
          issuer: options.jwks.issuer,
          audience: options.jwks.audience,
        }
      : null
  }

  /** A token verified before and not yet expired, without any work; null otherwise. */
  cached(token: string): VerifiedToken | null {
    const known = this.#verified.get(token)
    if (!known) return null
    if (known.expiresAtMs + CLOCK_LEEWAY_SECONDS * 1000 > this.#now()) return known
    this.#verified.delete(token)
    return null
  }

  /** The token's grants and expiry; throws E_UNAUTHORIZED (or E_AUTH_UNAVAILABLE) otherwise. */
  async verify(token: string): Promise<VerifiedToken> {
    const known = this.cached(token)
    if (known) return known
    const payload = await this.#check(token)
    const verified: VerifiedToken = {
      permissions: grantedPermissions(payload as TokenClaims),
      expiresAtMs: (payload.exp as number) * 1000,
      ...callerOf(token, payload.sub),
    }
    if (this.#verified.size >= VERIFIED_CACHE_SIZE) this.#verified.delete(this.#verified.keys().next().value as string)
    this.#verified.set(token, verified)
    return verified
  }

  async #check(token: string): Promise<JWTPayload> {
    let alg: unknown
    try {
      if (token.split('.').length !== 3) throw new Error('not a JWS')
      alg = decodeProtectedHeader(token).alg
    } catch {
      throw unauthorized('malformed token')
    }
    const currentDate = new Date(this.#now())
    try {
      if (alg === 'HS256') {
        if (!this.#secret) throw unauthorized('HS256 tokens are not accepted here')
        return (await jwtVerify(token, this.#secret, { ...this.#hmacOptions, currentDate })).payload
      }
      if (typeof alg === 'string' && ASYMMETRIC_ALGORITHMS.includes(alg)) {
        if (!this.#jwks || !this.#jwksOptions)
          throw unauthorized(`${alg} tokens need a JWKS: set SUPABASE_URL or HUBMIRROR_JWKS_URL`)
        return (await jwtVerify(token, this.#jwks.getKey, { ...this.#jwksOptions, currentDate })).payload
      }
      throw unauthorized('unsupported token algorithm')
    } catch (error) {
      throw isAppError(error) ? error : unauthorized(reason(error))
    }
  }
}

/** What was wrong, in words a client can act on; never the token itself. */
function reason(error: unknown): string {
  if (error instanceof errors.JWTExpired) return 'token expired'
  if (error instanceof errors.JWTClaimValidationFailed) {
    if (error.claim === 'nbf') return 'token not yet valid'
    if (error.reason === 'missing') return `token has no "${error.claim}" claim`
    return `token "${error.claim}" claim is not accepted here`
  }
  if (error instanceof errors.JWSSignatureVerificationFailed) return 'invalid token signature'
  if (error instanceof errors.JWKSNoMatchingKey) return 'no signing key in the issuer’s JWKS matches this token'
  if (error instanceof errors.JOSEAlgNotAllowed) return 'unsupported token algorithm'
  return 'invalid token'
}

function unauthorized(message: string): AppError {
  return new AppError('E_UNAUTHORIZED', message)
}

// One-time sign-in codes (the link `serve` prints): random, kept only as a hash, good once and for a few minutes.
import { createHash, randomBytes } from 'node:crypto'

/** Long enough to open the printed link; short enough that a copy found later in a scrollback is dead. */
export const SIGN_IN_CODE_TTL_MS = 10 * 60_000
/** Codes kept at once (each `serve` start issues one): a bound, not a limit anyone meets. */
const MAX_CODES = 100
/** 256 random bits: not guessable within the code's ten minutes, at any request rate. */
const CODE_BYTES = 32

export type RedeemResult = 'ok' | 'used' | 'expired' | 'unknown'

interface Entry {
  expiresAt: number
  used: boolean
}

function digest(code: string): string {
  return createHash('sha256').update(code).digest('base64url')
}

/**
 * Held in this process's memory: a code works on the instance that issued it, until it is used,
 * it expires, or the process restarts. A second instance behind the same load balancer does not
 * know it (its exchange is refused as unknown); such deployments sign in with their own tokens
 * (Supabase, `hubmirror token`), which is what the printed link stands in for on one machine.
 */
export class SignInCodes {
  readonly #entries = new Map<string, Entry>()
  readonly #now: () => number
  readonly #ttlMs: number

  constructor(options: { now?: () => number; ttlMs?: number } = {}) {
    this.#now = options.now ?? Date.now
    this.#ttlMs = options.ttlMs ?? SIGN_IN_CODE_TTL_MS
  }

  /** A new code; only its hash is kept, so a heap dump or a debugger shows no usable code. */
  issue(): { code: string; expiresAt: number } {
    this.#prune()
    const code = randomBytes(CODE_BYTES).toString('base64url')
    const expiresAt = this.#now() + this.#ttlMs
    this.#entries.set(digest(code), { expiresAt, used: false })
    return { code, expiresAt }
  }

  /** Marks the code used: the first caller gets 'ok', every later one 'used'. */
  redeem(code: string): RedeemResult {
    const entry = this.#entries.get(digest(code))
    if (!entry) return 'unknown'
    if (entry.used) return 'used'
    if (this.#now() >= entry.expiresAt) return 'expired'
    entry.used = true
    return 'ok'
  }

  /** Expired codes are kept one more lifetime (to say "expired" rather than "unknown"), then dropped. */
  #prune(): void {
    const now = this.#now()
    for (const [key, entry] of this.#entries) if (now >= entry.expiresAt + this.#ttlMs) this.#entries.delete(key)
    while (this.#entries.size >= MAX_CODES) this.#entries.delete(this.#entries.keys().next().value!)
  }
}

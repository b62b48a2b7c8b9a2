// The printed link's one-time codes: good once, refused after use and after ten minutes, on an injected clock.
import { describe, expect, it } from 'vitest'
import { SIGN_IN_CODE_TTL_MS, SignInCodes } from './sign-in-codes.js'

describe('one-time sign-in codes', () => {
  it('redeems a code once; the second use is refused as used', () => {
    const codes = new SignInCodes({ now: () => 1_000 })
    const { code, expiresAt } = codes.issue()
    expect(code).toMatch(/^[\w-]{43}$/)
    expect(expiresAt).toBe(1_000 + SIGN_IN_CODE_TTL_MS)
    expect(codes.redeem(code)).toBe('ok')
    expect(codes.redeem(code)).toBe('used')
  })

  it('refuses a code at its expiry, and one it never issued', () => {
    let now = 0
    const codes = new SignInCodes({ now: () => now })
    const { code } = codes.issue()
    const other = codes.issue().code
    now = SIGN_IN_CODE_TTL_MS - 1
    expect(codes.redeem(other)).toBe('ok')
    now = SIGN_IN_CODE_TTL_MS
    expect(codes.redeem(code)).toBe('expired')
    // An expired code stays expired; it does not become usable by being asked again.
    expect(codes.redeem(code)).toBe('expired')
    expect(codes.redeem(code.slice(0, -1) + (code.endsWith('A') ? 'B' : 'A'))).toBe('unknown')
  })

  it('issues a different random code each time, each redeemable on its own', () => {
    const codes = new SignInCodes()
    const issued = Array.from({ length: 20 }, () => codes.issue().code)
    expect(new Set(issued).size).toBe(20)
    for (const code of issued) expect(codes.redeem(code)).toBe('ok')
  })
})

// The named locks stay out of the owner keys' range, distinct, and readable where they show.
import { describe, expect, it } from 'vitest'
import { isNamedLock, lockLabel, LOCKS, newOwnerKey } from './locks.js'

describe('advisory-lock keys', () => {
  it('gives every named lock its own key inside the reserved range', () => {
    const keys = Object.values(LOCKS)
    expect(new Set(keys).size).toBe(keys.length)
    for (const key of keys) {
      expect(isNamedLock(key)).toBe(true)
      expect(Number.isSafeInteger(key)).toBe(true)
    }
  })

  it('never hands out an owner key that is a named lock, and owner keys fit an INTEGER column', () => {
    for (let i = 0; i < 10_000; i++) {
      const key = newOwnerKey()
      expect(key).toBeGreaterThan(0)
      expect(key).toBeLessThanOrEqual(2 ** 31 - 1)
      expect(isNamedLock(key)).toBe(false)
    }
  })

  it('labels locks by name, owners by key', () => {
    expect(lockLabel(LOCKS.sync)).toBe('sync')
    expect(lockLabel(42)).toBe('owner:42')
  })
})

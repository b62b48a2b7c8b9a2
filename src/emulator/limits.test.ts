// The rolling ten-second window and the limiter's policies.
import { describe, expect, it } from 'vitest'
import { Limiter, RollingWindow } from './limits.js'

describe('RollingWindow', () => {
  it('forgets requests once they are ten seconds old', () => {
    const w = new RollingWindow()
    for (let t = 0; t < 100; t++) w.add(1_000_000 + t * 50)
    expect(w.used(1_004_999)).toBe(100)
    expect(w.used(1_010_000)).toBe(100 - 1)
    expect(w.used(1_015_000)).toBe(0)
  })
})

describe('Limiter', () => {
  it('answers with the policy that refused the call, per token for the burst', () => {
    const limiter = new Limiter({ rateLimit10s: 2, searchRatePerSecond: 1, dailyLimit: 6 })
    const t = 5_000_000
    expect(limiter.take('a', 'standard', t)).toBeNull()
    expect(limiter.take('a', 'standard', t)).toBeNull()
    expect(limiter.take('a', 'standard', t)).toBe('TEN_SECONDLY_ROLLING')
    expect(limiter.take('b', 'standard', t)).toBeNull()
    expect(limiter.take('a', 'burst-exempt', t)).toBeNull()
    expect(limiter.take('a', 'search', t)).toBeNull()
    expect(limiter.take('b', 'search', t + 10)).toBe('SECONDLY')
    expect(limiter.take('a', 'search', t + 1000)).toBeNull()
    expect(limiter.take('c', 'standard', t + 1000)).toBe('DAILY')
  })
})

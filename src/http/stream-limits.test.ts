import { describe, expect, it } from 'vitest'
import { StreamLimits } from './stream-limits.js'

describe('StreamLimits', () => {
  it('refuses past the per-subject and the server-wide limit, and frees slots on release', () => {
    const limits = new StreamLimits({ perSubject: 2, total: 3, backlogBytes: 64 * 1024 })
    const a1 = limits.open('a', 'sse')
    limits.open('a', 'ws')
    expect(() => limits.open('a', 'long-poll')).toThrow(
      expect.objectContaining({ code: 'E_TOO_MANY_STREAMS', status: 429 }),
    )
    limits.open('b', 'graphql-ws')
    expect(() => limits.open('c', 'sse')).toThrow(
      expect.objectContaining({ details: expect.objectContaining({ scope: 'server' }) }),
    )
    a1.release()
    a1.release()
    expect(limits.held('a')).toBe(1)
    const c = limits.open('c', 'sse')
    c.dropped()
    c.dropped()
    expect(limits.stats()).toMatchObject({
      open: { sse: 0, ws: 1, 'graphql-ws': 1, 'long-poll': 0 },
      refusedPerSubject: { 'long-poll': 1 },
      refusedTotal: { sse: 1 },
      dropped: { sse: 1 },
    })
  })
})

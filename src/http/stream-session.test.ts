// A stream session on its own: refused before anything is held, ends at the token's exp (moved by a refresh), drops and closes once.
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { StreamLimits } from './stream-limits.js'
import { StreamSession } from './stream-session.js'
import type { VerifiedToken } from './token-verifier.js'

const token = (expiresAtMs: number, caller = 'sub:ann'): VerifiedToken => ({
  permissions: new Set(['exams.view']),
  expiresAtMs,
  subject: caller.slice(4),
  caller,
})

describe('StreamSession', () => {
  beforeEach(() => vi.useFakeTimers({ now: 1_000_000 }))
  afterEach(() => vi.useRealTimers())

  const limits = () => new StreamLimits({ perSubject: 1, total: 10, backlogBytes: 4096 })
  const ends = () => ({ onExpire: vi.fn(), onDrop: vi.fn() })

  it('holds nothing when it refuses: an expired token (401), then no free slot (429)', () => {
    const streams = limits()
    expect(() => StreamSession.open(streams, token(Date.now() - 1), 'sse', ends())).toThrowError(/token expired/)
    expect(streams.held('sub:ann')).toBe(0)
    const first = StreamSession.open(streams, token(Date.now() + 60_000), 'sse', ends())
    expect(() => StreamSession.open(streams, token(Date.now() + 60_000), 'ws', ends())).toThrowError(
      /already holds 1 realtime streams/,
    )
    expect(first.backlogBytes).toBe(4096)
    first.close()
    expect(streams.held('sub:ann')).toBe(0)
  })

  it("ends at the token's exp, and a refresh moves that on", () => {
    const end = ends()
    const session = StreamSession.open(limits(), token(Date.now() + 10_000), 'ws', end)
    vi.advanceTimersByTime(9_000)
    session.refresh(token(Date.now() + 10_000))
    vi.advanceTimersByTime(9_000)
    expect(end.onExpire).not.toHaveBeenCalled()
    vi.advanceTimersByTime(1_001)
    expect(end.onExpire).toHaveBeenCalledTimes(1)
  })

  it('holds one timer for all its streams, however many are open, and none once they close', () => {
    const streams = new StreamLimits({ perSubject: 1_000, total: 1_000, backlogBytes: 4096 })
    const base = vi.getTimerCount()
    const expiring = Array.from({ length: 200 }, () => ends())
    // Tokens expiring at 200 different instants: a timer per stream would be 200 timers.
    const sessions = expiring.map((end, i) =>
      StreamSession.open(streams, token(Date.now() + 10_000 + i * 1_000), 'sse', end),
    )
    expect(vi.getTimerCount() - base).toBe(1)
    expect(streams.deadlines.size).toBe(200)
    vi.advanceTimersByTime(10_000 + 99 * 1_000)
    expect(expiring.filter((end) => end.onExpire.mock.calls.length === 1)).toHaveLength(100)
    expect(expiring.slice(100).every((end) => end.onExpire.mock.calls.length === 0)).toBe(true)
    expect(vi.getTimerCount() - base).toBe(1)
    for (const session of sessions) session.close()
    expect(streams.deadlines.size).toBe(0)
    expect(vi.getTimerCount() - base).toBe(0)
  })

  it('drops once (counted), closes once, and nothing fires after the close', () => {
    const streams = limits()
    const end = ends()
    const session = StreamSession.open(streams, token(Date.now() + 10_000), 'graphql-ws', end)
    session.drop()
    session.drop()
    expect(end.onDrop).toHaveBeenCalledTimes(1)
    expect(streams.stats().dropped['graphql-ws']).toBe(1)
    session.close()
    session.close()
    session.drop()
    vi.advanceTimersByTime(20_000)
    expect(end.onDrop).toHaveBeenCalledTimes(1)
    expect(end.onExpire).not.toHaveBeenCalled()
    expect(streams.held('sub:ann')).toBe(0)
  })
})

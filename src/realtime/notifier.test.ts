// The NOTIFY throttle: the leading edge at once, then at most one per interval carrying the newest seq.
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { createNotifier } from './notifier.js'

describe('createNotifier', () => {
  let sent: string[]
  beforeEach(() => {
    vi.useFakeTimers()
    sent = []
  })
  afterEach(() => vi.useRealTimers())

  const notifier = () => createNotifier({ send: async (seq) => void sent.push(seq), intervalMs: 20 })

  it('sends a lone commit at once', () => {
    notifier().committed('5')
    expect(sent).toEqual(['5'])
  })

  it('collapses a burst into one trailing notification with the newest seq', () => {
    const n = notifier()
    for (let seq = 1; seq <= 100; seq++) n.committed(String(seq))
    expect(sent).toEqual(['1'])
    vi.advanceTimersByTime(20)
    expect(sent).toEqual(['1', '100'])
    vi.advanceTimersByTime(100)
    expect(sent).toEqual(['1', '100'])
  })

  it('keeps the newest seq when commits are announced out of order', () => {
    const n = notifier()
    n.committed('1')
    n.committed('9')
    n.committed('8')
    vi.advanceTimersByTime(20)
    expect(sent).toEqual(['1', '9'])
  })

  it('sends at most one per interval under a steady stream', () => {
    const n = notifier()
    for (let ms = 0; ms < 1_000; ms++) {
      n.committed(String(ms + 1))
      vi.advanceTimersByTime(1)
    }
    expect(sent.length).toBeLessThanOrEqual(1_000 / 20 + 1)
    expect(sent.length).toBeGreaterThanOrEqual(1_000 / 20 - 1)
  })

  it('flushes what is pending on close, and reports send failures', async () => {
    const errors: unknown[] = []
    const n = createNotifier({
      send: async (seq) => {
        sent.push(seq)
        if (seq === '1') throw new Error('down')
      },
      onError: (e) => errors.push(e),
    })
    n.committed('1')
    n.committed('2')
    await n.close()
    expect(sent).toEqual(['1', '2'])
    expect(errors).toHaveLength(1)
    n.committed('3')
    expect(sent).toEqual(['1', '2'])
  })
})

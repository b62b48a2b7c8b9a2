// Watches the in-process emulator's rate limiter: its rolling 10 s count per token and every 429 it gives of its own accord.
import { Limiter } from '../../src/emulator/limits.js'

export interface LimiterProbe {
  /** Refusals by the limiter itself (not injected faults), by policy: TEN_SECONDLY_ROLLING, SECONDLY, DAILY. */
  refused: Record<string, number>
  /** The highest rolling 10 s count the limiter held for one token, just after counting a request. */
  maxRolling10s(token?: string): number
  reset(): void
  restore(): void
}

/**
 * Wraps Limiter.prototype.take, which every emulator in this process calls once per request after
 * fault injection: a 429 from it is one our client earned, never one a test injected.
 */
export function probeEmulatorLimits(): LimiterProbe {
  const original = Limiter.prototype.take
  const refused: Record<string, number> = {}
  const peaks = new Map<string, number>()
  Limiter.prototype.take = function (this: Limiter, token, kind, now) {
    const policy = original.call(this, token, kind, now)
    if (policy) refused[policy] = (refused[policy] ?? 0) + 1
    else if (kind === 'standard') peaks.set(token, Math.max(peaks.get(token) ?? 0, this.window(token).used(now)))
    return policy
  }
  return {
    refused,
    maxRolling10s: (token) => (token === undefined ? Math.max(0, ...peaks.values()) : (peaks.get(token) ?? 0)),
    reset() {
      for (const key of Object.keys(refused)) delete refused[key]
      peaks.clear()
    },
    restore() {
      Limiter.prototype.take = original
    },
  }
}

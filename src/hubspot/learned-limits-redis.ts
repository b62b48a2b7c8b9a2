// Learned HubSpot limits shared through Redis: what one instance reads in HubSpot's headers, every instance keeps to.
import type { Redis } from 'ioredis'
import { createLocalLimits, type LimitGuess, type LimitSource } from './learned-limits.js'

/** How often an instance looks for what the others learned; a change of limit is rare. */
const REFRESH_MS = 1_000
/** A learned limit outlives restarts for a day, after which the first answers teach it again. */
const KEEP_MS = 86_400_000

export function createSharedLimits(
  redis: Redis,
  key: string,
  guess: LimitGuess,
): LimitSource & { refresh(): Promise<void> } {
  const local = createLocalLimits(guess, (limits) => {
    if (limits.state !== 'learned') return
    redis
      .multi()
      .hset(key, { max: limits.max, windowMs: limits.windowMs, daily: limits.daily, at: Date.now() })
      .pexpire(key, KEEP_MS)
      .exec()
      .catch(() => undefined)
  })
  let lastRead = 0
  let reading: Promise<void> | null = null
  const read = async () => {
    const shared = await redis.hgetall(key).catch(() => null)
    if (!shared?.max) return
    const now = local.current()
    const next = { max: Number(shared.max), windowMs: Number(shared.windowMs), daily: Number(shared.daily) }
    if (now.state === 'learned' && now.max === next.max && now.windowMs === next.windowMs && now.daily === next.daily)
      return
    local.adopt(next)
  }
  return {
    current: local.current,
    observe: local.observe,
    dailyUsed: local.dailyUsed,
    /** At most once a second; concurrent callers share one read. A failed read keeps what is known. */
    async refresh() {
      if (reading) return reading
      if (Date.now() - lastRead < REFRESH_MS) return
      lastRead = Date.now()
      reading = read().finally(() => (reading = null))
      return reading
    },
  }
}

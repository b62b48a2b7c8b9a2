// The HubSpot rate budget shared by every instance through Redis, so that N instances stay inside one account's limits.
import { setTimeout as sleep } from 'node:timers/promises'
import { randomUUID } from 'node:crypto'
import { Redis } from 'ioredis'
import {
  admitted,
  burstShape,
  createLocalBudget,
  DailyLimitExhausted,
  searchLimit,
  spentInWindow,
  type BudgetLimits,
  type RateBudget,
} from './budget.js'
import { shareOf } from './learned-limits.js'
import { createSharedLimits } from './learned-limits-redis.js'
import { SEARCH_WINDOW_MS } from './limits.js'

/**
 * A sliding window as a sorted set scored by completion time, trimmed and checked atomically in
 * Redis with Redis's own clock, so instances with skewed clocks still agree. A request in flight
 * is scored in the future (it holds its slot until released, or until IN_FLIGHT_MS if its
 * instance died). Returns 0 when a slot was taken, else the milliseconds to wait.
 */
const IN_FLIGHT_MS = 60_000
const TAKE_SCRIPT = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local window = tonumber(ARGV[1])
local limit = tonumber(ARGV[2])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - window)
local used = redis.call('ZCARD', KEYS[1])
-- Probing (the limit not yet learned): only requests in flight, scored in the future, count.
if ARGV[5] == '1' then used = redis.call('ZCOUNT', KEYS[1], '(' .. now, '+inf') end
if used < limit then
  -- A call refused for the day is not counted in it: used_daily never reads past the limit.
  if tonumber(redis.call('GET', KEYS[2]) or '0') >= tonumber(ARGV[4]) then return -1 end
  local daily = redis.call('INCR', KEYS[2])
  if daily == 1 then redis.call('EXPIRE', KEYS[2], 90000) end
  redis.call('ZADD', KEYS[1], now + ${IN_FLIGHT_MS}, ARGV[3])
  redis.call('PEXPIRE', KEYS[1], window + ${IN_FLIGHT_MS})
  return 0
end
if ARGV[5] == '1' then return 25 end
local oldest = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
local wait = tonumber(oldest[2]) + window - now
if wait > window then return 25 end
return math.max(1, wait)
`

const RELEASE_SCRIPT = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
redis.call('ZADD', KEYS[1], 'XX', now, ARGV[1])
return 0
`

/** A slot taken and never sent leaves the window, and the day, as if it had not been taken. */
const GIVE_BACK_SCRIPT = `
if redis.call('ZREM', KEYS[1], ARGV[1]) == 1 then redis.call('DECR', KEYS[2]) end
return 0
`

/**
 * HubSpot's Max − Remaining (ARGV[2]) against what the window holds: the calls we do not know of
 * (another process on the account, the run before a restart) are added as if they had just finished.
 */
const SEED_SCRIPT = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local window = tonumber(ARGV[1])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - window)
local unknown = tonumber(ARGV[2]) - redis.call('ZCARD', KEYS[1])
for i = 1, unknown do redis.call('ZADD', KEYS[1], now, ARGV[3] .. ':' .. i) end
if unknown > 0 then redis.call('PEXPIRE', KEYS[1], window + ${IN_FLIGHT_MS}) end
return math.max(0, unknown)
`

const USAGE_SCRIPT = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
return { redis.call('ZCOUNT', KEYS[1], now - tonumber(ARGV[1]), '+inf'), redis.call('ZCOUNT', KEYS[2], now - tonumber(ARGV[2]), '+inf'), tonumber(redis.call('GET', KEYS[3]) or '0') }
`

/** How often an instance says it shares the budget, and how long that counts. */
const ANNOUNCE_EVERY_MS = 1_000
const INSTANCE_SEEN_MS = 60_000

export interface RedisBudgetOptions {
  url: string
  namespace: string
  limits: BudgetLimits
  onFallback?: (error: unknown) => void
}

export function createRedisBudget(options: RedisBudgetOptions): RateBudget & { sharers(): number } {
  const redis = new Redis(options.url, { enableOfflineQueue: false, maxRetriesPerRequest: 1, commandTimeout: 1_000 })
  redis.on('error', () => undefined)
  const ns = options.namespace
  const dayKey = () => `${ns}:hs:daily:${new Date().toISOString().slice(0, 10)}`
  const keys = { standard: `${ns}:hs:burst`, search: `${ns}:hs:search` }
  // The burst window and its size are what HubSpot's headers said, to whichever instance heard them.
  const learned = createSharedLimits(redis, `${ns}:hs:limits`, options.limits)
  const searchWindow = {
    probing: false,
    ms: SEARCH_WINDOW_MS,
    limit: searchLimit(options.limits),
  }
  const windowOf = (kind: keyof typeof keys) => {
    if (kind === 'search') return searchWindow
    const shape = burstShape(learned.current())
    return { ms: shape.windowMs, limit: shape.limit, probing: shape.probing }
  }
  // Redis down must not stop writes: fall back to this instance's own share of the budget, the
  // account's limits divided by the instances seen sharing it lately (each announces itself).
  const instanceId = randomUUID()
  const instancesKey = `${ns}:hs:instances`
  let instancesSeen = 1
  let lastAnnounced = 0
  let fallback: { budget: RateBudget; share: number } | null = null
  const announce = () => {
    const now = Date.now()
    if (now - lastAnnounced < ANNOUNCE_EVERY_MS) return
    lastAnnounced = now
    redis
      .multi()
      .zadd(instancesKey, now, instanceId)
      .zremrangebyscore(instancesKey, '-inf', now - INSTANCE_SEEN_MS)
      .zcard(instancesKey)
      .pexpire(instancesKey, INSTANCE_SEEN_MS)
      .exec()
      .then((results) => {
        const count = Number(results?.[2]?.[1])
        if (count > 0) instancesSeen = count
      })
      .catch(() => undefined)
  }
  const fallbackBudget = (): RateBudget => {
    if (fallback?.share !== instancesSeen) {
      const share = (limit: number) => Math.max(1, Math.floor(limit / instancesSeen))
      const l = options.limits
      const seen = instancesSeen
      fallback = {
        share: instancesSeen,
        budget: createLocalBudget(
          { burstPer10s: share(l.burstPer10s), searchPerSecond: share(l.searchPerSecond), daily: share(l.daily) },
          shareOf(learned, () => seen),
          // HubSpot's Remaining counts every instance's calls, not this share's.
          { seedFromRemaining: false },
        ),
      }
    }
    return fallback.budget
  }
  // Commands fail fast while disconnected, so wait for the first connection rather than
  // treating "still connecting" as "down" (which would let each instance spend the whole budget).
  const connected = new Promise<void>((resolve) => {
    redis.once('ready', () => resolve())
    setTimeout(resolve, 3_000).unref()
  })

  return {
    async acquire(kind, signal, headroom) {
      if (redis.status !== 'ready') await connected
      for (;;) {
        signal?.throwIfAborted()
        let wait: number
        const member = randomUUID()
        try {
          await learned.refresh()
          const window = windowOf(kind)
          wait = Number(
            await redis.eval(
              TAKE_SCRIPT,
              2,
              keys[kind],
              dayKey(),
              window.ms,
              admitted(kind, window.limit, headroom),
              member,
              learned.current().daily,
              window.probing ? 1 : 0,
            ),
          )
        } catch (error) {
          options.onFallback?.(error)
          return fallbackBudget().acquire(kind, signal, headroom)
        }
        announce()
        if (wait === 0)
          return (unused) =>
            void (
              unused
                ? redis.eval(GIVE_BACK_SCRIPT, 2, keys[kind], dayKey(), member)
                : redis.eval(RELEASE_SCRIPT, 1, keys[kind], member)
            ).catch(() => undefined)
        if (wait < 0) throw new DailyLimitExhausted()
        await sleep(wait + Math.random() * 5, undefined, { signal })
      }
    },
    async usage() {
      try {
        if (redis.status !== 'ready') await connected
        await learned.refresh()
        const limits = learned.current()
        const [burst, search, daily] = (await redis.eval(
          USAGE_SCRIPT,
          3,
          keys.standard,
          keys.search,
          dayKey(),
          limits.windowMs,
          SEARCH_WINDOW_MS,
        )) as number[]
        return {
          limit_10s: limits.max,
          admit_10s: burstShape(limits).limit,
          limit_state: limits.state,
          burst_window_ms: limits.windowMs,
          used_10s: burst,
          search_limit_s: options.limits.searchPerSecond,
          used_search_1s: search,
          daily_limit: limits.daily,
          used_daily: daily,
        }
      } catch {
        return fallbackBudget().usage()
      }
    },
    observe(headers) {
      learned.observe(headers)
      const spent = spentInWindow(headers)
      if (spent === null || redis.status !== 'ready') return
      const windowMs = learned.current().windowMs
      redis.eval(SEED_SCRIPT, 1, keys.standard, windowMs, spent, `seen:${randomUUID()}`).catch(() => undefined)
    },
    burstLimits: () => learned.current(),
    /** Instances seen sharing the budget lately; while Redis is down each spends 1/sharers of it. */
    sharers: () => instancesSeen,
    async close() {
      redis.disconnect()
    },
  }
}

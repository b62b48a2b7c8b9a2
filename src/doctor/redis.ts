// The Redis check: reachable, and evicting only what may be evicted (never the cache's generation counters).
import { evictionVerdict, probeRedis } from '../cache/index.js'
import type { Config } from '../config/index.js'
import { redact } from './common.js'
import { check, type Check } from './report.js'

export async function redisCheck(config: Config): Promise<Check> {
  if (!config.redisUrl) return check('redis', 'ok', 'not configured: in-process cache (fine for one instance)')
  const probe = await probeRedis(config.redisUrl)
  if (!probe.reachable)
    return check('redis', 'fail', `${redact(config.redisUrl)} does not answer (${probe.error})`, {
      fix: 'start Redis or correct REDIS_URL; meanwhile reads go to Postgres and instances share no cache or HubSpot budget',
    })
  const verdict = evictionVerdict(probe.policy, probe.maxmemory)
  const memory = probe.maxmemory ? `maxmemory ${Math.round(probe.maxmemory / 1024 / 1024)} MB` : 'no maxmemory'
  const found = `Redis ${probe.version ?? '?'}, ${memory}, maxmemory-policy ${probe.policy ?? 'unreadable (CONFIG disabled)'}`
  return check(
    'redis',
    verdict,
    found,
    verdict === 'ok'
      ? {}
      : {
          fix:
            probe.policy === null
              ? 'make sure the policy is volatile-lru (or another volatile-*): evicting keys without a TTL serves stale data'
              : probe.policy === 'noeviction'
                ? 'set maxmemory-policy volatile-lru: with noeviction a full Redis refuses cache writes'
                : `set maxmemory-policy volatile-lru: ${probe.policy} may evict the cache's generation counters, after which stale responses can be served`,
        },
  )
}

// One diagnostic look at Redis (for `hubmirror doctor`): reachable, its version, memory limit and eviction policy.
import { Redis } from 'ioredis'

export type RedisProbe =
  | { reachable: false; error: string }
  | {
      reachable: true
      version: string | null
      /** null when CONFIG is disabled (many managed Redis services rename or block it). */
      maxmemory: number | null
      policy: string | null
    }

const PROBE_TIMEOUT_MS = 2_000

export async function probeRedis(url: string): Promise<RedisProbe> {
  const redis = new Redis(url, {
    lazyConnect: true,
    connectTimeout: PROBE_TIMEOUT_MS,
    commandTimeout: PROBE_TIMEOUT_MS,
    maxRetriesPerRequest: 0,
    enableOfflineQueue: false,
    // One attempt: a doctor reports "down" rather than waiting for it to come back.
    retryStrategy: () => null,
  })
  redis.on('error', () => undefined)
  try {
    await redis.connect()
    await redis.ping()
    const info = await redis.info('server').catch(() => '')
    const version = /redis_version:([^\r\n]+)/.exec(info)?.[1] ?? null
    const config = async (name: string): Promise<string | null> => {
      try {
        const pair = (await redis.config('GET', name)) as string[]
        return pair[1] ?? null
      } catch {
        return null
      }
    }
    const maxmemory = await config('maxmemory')
    return {
      reachable: true,
      version,
      maxmemory: maxmemory === null ? null : Number(maxmemory),
      policy: await config('maxmemory-policy'),
    }
  } catch (error) {
    const code = (error as { code?: string }).code
    return { reachable: false, error: code ?? (error as Error).message }
  } finally {
    redis.disconnect()
  }
}

/**
 * Why the policy matters: cached bytes carry a TTL, generation counters and the epoch do not.
 * `volatile-*` evicts only the former. `allkeys-*` may evict a generation counter, after which an
 * older cached response can match again (stale data served). `noeviction` is safe but turns a
 * full Redis into failed cache writes.
 */
export function evictionVerdict(policy: string | null, maxmemory: number | null): 'ok' | 'warn' | 'fail' {
  if (policy === null) return 'warn'
  if (policy.startsWith('volatile-')) return 'ok'
  if (maxmemory === 0) return 'ok'
  return policy === 'noeviction' ? 'warn' : 'fail'
}

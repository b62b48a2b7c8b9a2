// The cache tier for the config: Redis-backed when REDIS_URL is set, in-process otherwise.
import type { Config } from '../config/index.js'
import { ResponseCache, type ResponseCacheOptions } from './response-cache.js'
import { createMemoryStore } from './store-memory.js'
import { createRedisStore } from './store-redis.js'

export { ResponseCache } from './response-cache.js'
export type { CacheEntry, GenerationStore } from './store.js'
export { createMemoryStore } from './store-memory.js'
export { createRedisStore } from './store-redis.js'
export { evictionVerdict, probeRedis } from './redis-probe.js'
export { dependencyNames, deps } from './dependencies.js'

export function openCache(
  config: Pick<Config, 'redisUrl' | 'redisNamespace'>,
  options: ResponseCacheOptions & { onRedisError?: (e: Error) => void } = {},
): ResponseCache {
  const store = config.redisUrl
    ? createRedisStore({ url: config.redisUrl, namespace: config.redisNamespace, onError: options.onRedisError })
    : createMemoryStore()
  return new ResponseCache(store, options)
}

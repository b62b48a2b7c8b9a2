// Removes the keys written under a prefix of Redis namespaces, so that a benchmark or a test run leaves Redis as it found it.
import { Redis } from 'ioredis'

/** Every key starting with `prefix` (a run's namespaces share it: each key is `<namespace>:…`). */
export async function dropRedisKeys(url: string | undefined, prefix: string): Promise<void> {
  if (!url) return
  const redis = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 1 })
  try {
    await redis.connect()
    for await (const keys of redis.scanStream({ match: `${prefix}*`, count: 1000 }) as AsyncIterable<string[]>)
      if (keys.length) await redis.del(...keys)
  } finally {
    redis.disconnect()
  }
}

// Every GenerationStore passes the one contract suite: in-process always, Redis when REDIS_URL is set.
import { describe } from 'vitest'
import { createMemoryStore } from '../../src/cache/store-memory.js'
import { createRedisStore } from '../../src/cache/store-redis.js'
import { cacheStoreSuite } from '../support/conformance/cache-store.js'
import { realRedis, testNamespace } from '../support/env.js'

cacheStoreSuite('in-process', { open: createMemoryStore, sharesBytes: false })

describe.skipIf(!realRedis)('Redis', () => {
  cacheStoreSuite('Redis', {
    open: () => createRedisStore({ url: process.env.REDIS_URL!, namespace: testNamespace('store') }),
    sharesBytes: true,
  })
})

// The Redis generation store: shared generations and bytes, coherent across instances.
import { randomUUID } from 'node:crypto'
import { Redis } from 'ioredis'
import type { GenerationStore } from './store.js'

interface Waiter {
  names: readonly string[]
  resolve(tokens: string[]): void
  reject(error: unknown): void
}

export interface RedisStoreOptions {
  url: string
  namespace?: string
  onError?: (error: Error) => void
}

/**
 * Generation reads are batched: each caller joins the next MGET to be *sent*, never one already
 * in flight, so the answer is no older than the call. One round trip then serves every request
 * that arrived meanwhile, which keeps hits cheap under load without giving up read-your-writes.
 *
 * Every token is prefixed by an epoch. Redis losing its data (restart) yields a new epoch, and so
 * does a bump that failed while Redis was unreachable: either way no old entry can match again.
 */
export function createRedisStore(options: RedisStoreOptions): GenerationStore & { redis: Redis } {
  const ns = options.namespace ?? 'hm'
  const EPOCH_KEY = `${ns}:epoch`
  const genKey = (name: string) => `${ns}:gen:${name}`
  const bytesKey = (key: string) => `${ns}:c:${key}`
  const redis = new Redis(options.url, {
    // Fail fast while disconnected: the caller falls back to Postgres rather than queueing.
    enableOfflineQueue: false,
    maxRetriesPerRequest: 1,
    commandTimeout: 1_000,
    retryStrategy: (attempt) => Math.min(2_000, 50 * 2 ** attempt),
  })
  redis.on('error', (error) => options.onError?.(error))

  let next: Waiter[] = []
  let inFlight = false
  let scheduled = false
  let epochResetPending = false

  async function ensureEpoch(): Promise<string> {
    if (epochResetPending) {
      await redis.set(EPOCH_KEY, randomUUID())
      epochResetPending = false
    }
    const current = await redis.get(EPOCH_KEY)
    if (current) return current
    await redis.set(EPOCH_KEY, randomUUID(), 'NX')
    return (await redis.get(EPOCH_KEY)) as string
  }

  async function readBatch(batch: Waiter[]): Promise<void> {
    const names = [...new Set(batch.flatMap((waiter) => waiter.names))]
    try {
      const values = await redis.mget(EPOCH_KEY, ...names.map(genKey))
      const epoch = values[0] && !epochResetPending ? values[0] : await ensureEpoch()
      const tokenOf = new Map(names.map((name, i) => [name, `${epoch}.${values[i + 1] ?? 0}`]))
      for (const waiter of batch) waiter.resolve(waiter.names.map((name) => tokenOf.get(name) as string))
    } catch (error) {
      for (const waiter of batch) waiter.reject(error)
    }
  }

  function flush(): void {
    scheduled = false
    if (inFlight || next.length === 0) return
    const batch = next
    next = []
    inFlight = true
    void readBatch(batch).finally(() => {
      inFlight = false
      if (next.length > 0) schedule()
    })
  }

  function schedule(): void {
    if (scheduled) return
    scheduled = true
    // setImmediate, not a microtask: requests read from other sockets in this loop turn join too.
    setImmediate(flush)
  }

  function retryEpochReset(): void {
    const timer = setInterval(() => {
      if (!epochResetPending) return clearInterval(timer)
      ensureEpoch().catch(() => undefined)
    }, 1_000)
    timer.unref()
  }

  return {
    kind: 'redis',
    redis,
    readGenerations(names) {
      return new Promise((resolve, reject) => {
        next.push({ names, resolve, reject })
        if (!inFlight) schedule()
      })
    },
    async bump(names) {
      if (names.length === 0) return
      try {
        const pipeline = redis.multi()
        for (const name of new Set(names)) pipeline.incr(genKey(name))
        const results = await pipeline.exec()
        const failed = results?.find(([error]) => error)
        if (!results || failed) throw failed?.[0] ?? new Error('redis transaction aborted')
      } catch (error) {
        if (!epochResetPending) {
          epochResetPending = true
          retryEpochReset()
        }
        throw error
      }
    },
    async get(key) {
      const raw = await redis.getBuffer(bytesKey(key))
      if (!raw) return null
      const newline = raw.indexOf(10)
      return { seq: raw.subarray(0, newline).toString(), body: raw.subarray(newline + 1) }
    },
    async set(key, entry, ttlMs) {
      await redis.set(bytesKey(key), Buffer.concat([Buffer.from(entry.seq + '\n'), entry.body]), 'PX', ttlMs)
    },
    ready(timeoutMs = 3_000) {
      if (redis.status === 'ready') return Promise.resolve(true)
      return new Promise<boolean>((resolve) => {
        const timer = setTimeout(() => resolve(false), timeoutMs)
        redis.once('ready', () => {
          clearTimeout(timer)
          resolve(true)
        })
      })
    },
    async close() {
      redis.disconnect()
    },
  }
}

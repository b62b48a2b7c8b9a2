// The in-process generation store, for a single instance without Redis.
import type { CacheEntry, GenerationStore } from './store.js'

interface Waiter {
  names: readonly string[]
  resolve(tokens: string[]): void
}

export function createMemoryStore(): GenerationStore {
  const generations = new Map<string, number>()
  let waiting: Waiter[] = []

  function answer(): void {
    const batch = waiting
    waiting = []
    for (const waiter of batch) waiter.resolve(waiter.names.map((name) => String(generations.get(name) ?? 0)))
  }

  return {
    kind: 'memory',
    /**
     * Answered once per event-loop turn, as the Redis store's batched MGET is: every request
     * parsed in this turn gets its reply written together in the next one. Answering each at
     * once cost ~40% more CPU per cache hit under load (bench/read-path: 113 → 69 µs/request).
     * Read at answer time, which is after the call: a read that follows a bump sees it.
     */
    readGenerations(names) {
      return new Promise((resolve) => {
        if (waiting.push({ names, resolve }) === 1) setImmediate(answer)
      })
    },
    async bump(names) {
      for (const name of names) generations.set(name, (generations.get(name) ?? 0) + 1)
    },
    // The in-process tier in front of this store already holds the bytes: nothing is shared.
    async get(): Promise<CacheEntry | null> {
      return null
    },
    async set() {},
    async ready() {
      return true
    },
    async close() {},
  }
}

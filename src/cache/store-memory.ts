// The in-process generation store, for a single instance without Redis.
import type { CacheEntry, GenerationStore } from './store.js'

export function createMemoryStore(): GenerationStore {
  const generations = new Map<string, number>()
  return {
    kind: 'memory',
    async readGenerations(names) {
      return names.map((name) => String(generations.get(name) ?? 0))
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

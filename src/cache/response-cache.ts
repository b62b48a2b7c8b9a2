// The read-through response cache: in-process bytes in front of a shared store, invalidated by generation.
import type { CacheEntry, GenerationStore } from './store.js'

export interface CacheStats {
  hits: number
  sharedHits: number
  misses: number
  bypassed: number
  staleSetsPrevented: number
}

export interface ResponseCacheOptions {
  maxEntries?: number
  maxBytes?: number
  sharedTtlMs?: number
  onDegraded?: (error: unknown) => void
}

interface LocalEntry {
  tokens: string
  entry: CacheEntry
}

/**
 * A key is valid only together with the generations of the names it depends on. A reader reads
 * those generations *before* loading, and stores what it loaded under them; a write bumps them
 * *after* committing. So a slow reader that loaded old rows stores them under generations no
 * later reader asks for: the stale-set race of "DEL after write" cannot resurrect old data.
 */
export class ResponseCache {
  readonly stats: CacheStats = { hits: 0, sharedHits: 0, misses: 0, bypassed: 0, staleSetsPrevented: 0 }
  readonly #store: GenerationStore
  readonly #local = new Map<string, LocalEntry>()
  readonly #maxEntries: number
  readonly #maxBytes: number
  readonly #sharedTtlMs: number
  readonly #onDegraded: (error: unknown) => void
  #bytes = 0

  constructor(store: GenerationStore, options: ResponseCacheOptions = {}) {
    this.#store = store
    this.#maxEntries = options.maxEntries ?? 10_000
    this.#maxBytes = options.maxBytes ?? 128 * 1024 * 1024
    this.#sharedTtlMs = options.sharedTtlMs ?? 300_000
    this.#onDegraded = options.onDegraded ?? (() => undefined)
  }

  async get(key: string, dependsOn: readonly string[], load: () => Promise<CacheEntry>): Promise<CacheEntry> {
    let tokens: string
    try {
      tokens = (await this.#store.readGenerations(dependsOn)).join(',')
    } catch (error) {
      // Without current generations nothing cached can be trusted: answer from the replica.
      this.stats.bypassed += 1
      this.#onDegraded(error)
      return load()
    }
    const local = this.#local.get(key)
    if (local && local.tokens === tokens) {
      this.stats.hits += 1
      return local.entry
    }
    const fullKey = `${key}@${tokens}`
    const shared = await this.#store.get(fullKey).catch(() => null)
    if (shared) {
      this.stats.sharedHits += 1
      this.#remember(key, tokens, shared)
      return shared
    }
    this.stats.misses += 1
    const entry = await load()
    this.#remember(key, tokens, entry)
    this.#store.set(fullKey, entry, this.#sharedTtlMs).catch((error) => this.#onDegraded(error))
    return entry
  }

  /** Bumps the generations; best effort, since a write must succeed even while Redis is down. */
  async invalidate(names: readonly string[]): Promise<void> {
    if (names.length === 0) return
    try {
      await this.#store.bump(names)
    } catch (error) {
      this.#onDegraded(error)
    }
  }

  #remember(key: string, tokens: string, entry: CacheEntry): void {
    const existing = this.#local.get(key)
    if (existing) {
      // A reader that started before a newer one finished must not replace its fresher entry.
      if (isOlder(tokens, existing.tokens)) {
        this.stats.staleSetsPrevented += 1
        return
      }
      this.#forget(key, existing)
    }
    this.#local.set(key, { tokens, entry })
    this.#bytes += entry.body.length
    this.#evict()
  }

  #forget(key: string, existing: LocalEntry): void {
    this.#local.delete(key)
    this.#bytes -= existing.entry.body.length
  }

  #evict(): void {
    for (const [key, value] of this.#local) {
      if (this.#local.size <= this.#maxEntries && this.#bytes <= this.#maxBytes) return
      this.#forget(key, value)
    }
  }

  ready(timeoutMs?: number): Promise<boolean> {
    return this.#store.ready(timeoutMs)
  }

  async close(): Promise<void> {
    this.clearLocal()
    await this.#store.close()
  }

  clearLocal(): void {
    this.#local.clear()
    this.#bytes = 0
  }
}

/** Tokens are "epoch.counter" per name; older means same epochs and no counter ahead. */
function isOlder(candidate: string, current: string): boolean {
  const a = candidate.split(',')
  const b = current.split(',')
  if (a.length !== b.length) return false
  let strictlyBehind = false
  for (let i = 0; i < a.length; i++) {
    const [epochA, countA] = splitToken(a[i])
    const [epochB, countB] = splitToken(b[i])
    if (epochA !== epochB || countA > countB) return false
    if (countA < countB) strictlyBehind = true
  }
  return strictlyBehind
}

function splitToken(token: string): [string, number] {
  const dot = token.lastIndexOf('.')
  return dot < 0 ? ['', Number(token)] : [token.slice(0, dot), Number(token.slice(dot + 1))]
}

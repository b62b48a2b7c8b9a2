// The interface of the shared cache tier: generation counters for invalidation, and cached bytes.

export interface CacheEntry {
  body: Buffer
  /** The change-log seq the body reflects (sent as X-Replica-Seq). */
  seq: string
}

export interface GenerationStore {
  readonly kind: 'memory' | 'redis'
  /**
   * The current generation token of each name, read after the call began (never an answer
   * cached from before it), so that a read that follows a write's acknowledgement sees the bump.
   */
  readGenerations(names: readonly string[]): Promise<string[]>
  /** Moves each name to a generation no earlier reader can hold. */
  bump(names: readonly string[]): Promise<void>
  /** Shared bytes by full key (key plus generations); null when absent or not shared. */
  get(key: string): Promise<CacheEntry | null>
  set(key: string, entry: CacheEntry, ttlMs: number): Promise<void>
  /** Resolves once connected, or false after timeoutMs (the cache then runs degraded until it connects). */
  ready(timeoutMs?: number): Promise<boolean>
  close(): Promise<void>
}

// Runs queued behind the sync lock that later callers join instead of queueing their own: one for demand pulls, targeted pulls and force syncs.

/**
 * Runs waiting to start, by key. A caller asking for what a waiting run will do joins it: the run
 * has read nothing yet, so it will see whatever the caller wants seen, at no extra HubSpot cost.
 * A run leaves the queue the moment it starts (the `started` callback, called first thing inside
 * it), so a caller after that queues one more run behind it; and again when it settles, however.
 *
 * ```
 *   (none) ──join──► waiting ──started()──► running ──settles──► (none)
 *                      ▲  │                    │
 *       join (merge ok)┘  └─join, merge refused: a new waiting run replaces it in the queue
 * ```
 */
export class QueuedRuns<K, T, D = undefined> {
  readonly #waiting = new Map<K, { data: D; result: Promise<T> }>()

  /**
   * The result of the run waiting under `key`, if there is one and `merge` (when given) takes this
   * caller's wishes into it; otherwise that of a new run, `start(started, data)`.
   */
  join(
    key: K,
    data: D,
    start: (started: () => void, data: D) => Promise<T>,
    merge?: (queued: D) => boolean,
  ): Promise<T> {
    const queued = this.#waiting.get(key)
    if (queued && (!merge || merge(queued.data))) return queued.result
    const entry = { data, result: undefined as unknown as Promise<T> }
    // By identity: a run that replaced this one in the queue stays there.
    const started = () => {
      if (this.#waiting.get(key) === entry) this.#waiting.delete(key)
    }
    entry.result = start(started, data)
    this.#waiting.set(key, entry)
    void entry.result.finally(started).catch(() => undefined)
    return entry.result
  }
}

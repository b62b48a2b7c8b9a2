// Group commit: concurrent callers' items ride together in one flight (one HubSpot batch call).

export interface BatcherOptions<I, R> {
  /** Runs one flight; returns one result (or Error) per item, in order. */
  run(items: I[]): Promise<Array<R | Error>>
  maxBatch: number
  /** Flights allowed at once; with 1, an item never joins a flight that started before it arrived. */
  maxInFlight: number
  /**
   * Least time between two flights. Set to the rate limit's refill interval, a flight carries
   * everything that queued meanwhile instead of spending the budget on one-item batches and
   * then stalling until the window reopens. A function follows a limit that changes (learned from HubSpot).
   */
  minIntervalMs?: number | (() => number)
}

interface Pending<I, R> {
  item: I
  resolve(result: R): void
  reject(error: unknown): void
}

/**
 * Items wait for the next flight to leave, never for one already in the air, so whatever a flight
 * reads when it starts is at least as new as every item in it (the exam counter relies on that).
 */
export class Batcher<I, R> {
  readonly #options: BatcherOptions<I, R>
  #queue: Pending<I, R>[] = []
  #inFlight = 0
  #scheduled = false
  #lastLaunch = 0
  flights = 0

  constructor(options: BatcherOptions<I, R>) {
    this.#options = options
  }

  #minInterval(): number {
    const interval = this.#options.minIntervalMs
    return typeof interval === 'function' ? interval() : (interval ?? 0)
  }

  submit(item: I): Promise<R> {
    return new Promise<R>((resolve, reject) => {
      this.#queue.push({ item, resolve, reject })
      this.#schedule()
    })
  }

  #schedule(): void {
    if (this.#scheduled || this.#inFlight >= this.#options.maxInFlight) return
    this.#scheduled = true
    const launch = () => {
      this.#scheduled = false
      this.#launch()
    }
    const wait = this.#lastLaunch + this.#minInterval() - Date.now()
    // setImmediate gathers the requests parsed in this loop turn into the same flight.
    if (wait > 0) setTimeout(launch, wait)
    else setImmediate(launch)
  }

  #launch(): void {
    while (this.#queue.length > 0 && this.#inFlight < this.#options.maxInFlight) {
      const interval = this.#minInterval()
      if (interval && Date.now() - this.#lastLaunch < interval) return this.#schedule()
      const batch = this.#queue.splice(0, this.#options.maxBatch)
      this.#lastLaunch = Date.now()
      this.#inFlight += 1
      this.flights += 1
      void this.#fly(batch).finally(() => {
        this.#inFlight -= 1
        if (this.#queue.length > 0) this.#schedule()
      })
    }
  }

  async #fly(batch: Pending<I, R>[]): Promise<void> {
    try {
      const results = await this.#options.run(batch.map((pending) => pending.item))
      batch.forEach((pending, i) => {
        const result = results[i]
        if (result instanceof Error) pending.reject(result)
        else pending.resolve(result as R)
      })
    } catch (error) {
      for (const pending of batch) pending.reject(error)
    }
  }
}

// A push-fed async iterator, bounded: what a GraphQL subscription resolver hands to graphql-ws.

/** Unread items allowed across several queues (one graphql-ws connection's subscriptions). */
export class QueueBudget {
  #queued = 0
  constructor(readonly limit: number) {}

  get queued(): number {
    return this.#queued
  }

  take(): boolean {
    if (this.#queued >= this.limit) return false
    this.#queued += 1
    return true
  }

  give(n = 1): void {
    this.#queued = Math.max(0, this.#queued - n)
  }
}

export class AsyncQueue<T> implements AsyncIterableIterator<T> {
  readonly #items: T[] = []
  readonly #budget: QueueBudget
  readonly #onOverflow: () => void
  #waiting: ((result: IteratorResult<T>) => void) | null = null
  #ended = false
  #closed = false
  #onClose: (() => void) | null = null

  /**
   * Past the budget's unread items the queue ends and `onOverflow` runs: the transport drops a
   * consumer that slow, which reconnects and resubscribes from its last seq.
   */
  constructor(budget: QueueBudget, onOverflow: () => void = () => undefined) {
    this.#budget = budget
    this.#onOverflow = onOverflow
  }

  push(item: T): void {
    if (this.#ended) return
    if (this.#waiting) {
      const resolve = this.#waiting
      this.#waiting = null
      resolve({ value: item, done: false })
      return
    }
    if (!this.#budget.take()) {
      this.end()
      return this.#onOverflow()
    }
    this.#items.push(item)
  }

  /** No more items: the iterator finishes once the queued ones are read. */
  end(): void {
    if (this.#ended) return
    this.#ended = true
    if (this.#items.length === 0) this.#finish()
  }

  onClose(listener: () => void): void {
    this.#onClose = listener
  }

  next(): Promise<IteratorResult<T>> {
    if (this.#items.length > 0) {
      const value = this.#items.shift() as T
      this.#budget.give()
      if (this.#ended && this.#items.length === 0) this.#finish()
      return Promise.resolve({ value, done: false })
    }
    if (this.#ended) return Promise.resolve(this.#finish())
    return new Promise((resolve) => (this.#waiting = resolve))
  }

  /** The consumer is done (client unsubscribed or disconnected). */
  return(): Promise<IteratorResult<T>> {
    this.#ended = true
    this.#budget.give(this.#items.length)
    this.#items.length = 0
    return Promise.resolve(this.#finish())
  }

  [Symbol.asyncIterator](): this {
    return this
  }

  #finish(): IteratorResult<T> {
    const done: IteratorResult<T> = { value: undefined, done: true }
    if (this.#waiting) {
      this.#waiting({ ...done })
      this.#waiting = null
    }
    if (!this.#closed) {
      this.#closed = true
      this.#onClose?.()
    }
    return done
  }
}

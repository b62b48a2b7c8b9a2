// A push-fed async iterator, bounded: what a GraphQL subscription resolver hands to graphql-ws.

export class AsyncQueue<T> implements AsyncIterableIterator<T> {
  readonly #items: T[] = []
  readonly #limit: number
  #waiting: ((result: IteratorResult<T>) => void) | null = null
  #ended = false
  #closed = false
  #onClose: (() => void) | null = null

  /** Past `limit` unread items the queue ends: a consumer that slow resubscribes from its last seq. */
  constructor(limit: number) {
    this.#limit = limit
  }

  push(item: T): void {
    if (this.#ended) return
    if (this.#waiting) {
      const resolve = this.#waiting
      this.#waiting = null
      resolve({ value: item, done: false })
      return
    }
    if (this.#items.length >= this.#limit) return this.end()
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
      if (this.#ended && this.#items.length === 0) this.#finish()
      return Promise.resolve({ value, done: false })
    }
    if (this.#ended) return Promise.resolve(this.#finish())
    return new Promise((resolve) => (this.#waiting = resolve))
  }

  /** The consumer is done (client unsubscribed or disconnected). */
  return(): Promise<IteratorResult<T>> {
    this.#ended = true
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

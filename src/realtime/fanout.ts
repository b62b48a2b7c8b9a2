// Hands slices to their subscribers in order, a chunk of subscribers per turn of the event loop.
import { EventSlice } from './log-entry.js'
import type { Delivery } from './registry.js'

/**
 * Subscribers handed a slice per turn. An event to 10,000 streams is 10,000 socket writes, each
 * mostly the kernel's loopback send (bench/RESULTS.md, issue 26: ~10 µs a write on the bench VM,
 * ~40% of the server's CPU): in one turn that holds every other request, timer and heartbeat for
 * ~100 ms. In turns of this many the loop comes round every few milliseconds, and no subscriber waits
 * for more than its turn. Up to this many subscribers, delivery stays synchronous, as before.
 */
export const FANOUT_CHUNK = 500

/**
 * Entries a queued slice may grow to by taking in the slices pushed behind it. A fan-out that falls
 * behind (10 commits a second to 10,000 streams is 100,000 socket writes a second, more than two
 * cores' loopback managed in bench/RESULTS.md, issue 26) then writes each subscriber the events that
 * piled up in one go: the further behind, the fewer writes per event, so the queue drains instead
 * of growing. Bounded so that one write (32 events of about 1 KiB) stays under the least backlog a
 * stream may be configured to leave unsent before it is dropped (HUBMIRROR_STREAM_BACKLOG_BYTES ≥ 64 KiB).
 */
export const FANOUT_MERGE_ENTRIES = 32

/** The deliveries of a slice: who gets it, and which part (registry.ts). */
export type Planner = (slice: EventSlice) => Delivery[]

interface Pending {
  readonly slice: EventSlice
  /** Taken when the slice was queued, or joined (push): later subscribers start after it. */
  readonly plan: readonly Delivery[]
}

export class Fanout {
  readonly #queue: Pending[] = []
  readonly #chunk: number
  readonly #onDelivered: (seq: string) => void
  readonly #plan: Planner
  #merged = 0
  /** Where the head of the queue has got to: the group, and the subscriber within it. */
  #group = 0
  #index = 0
  #running = false
  #scheduled: NodeJS.Immediate | null = null

  /** `onDelivered(seq)`: every subscriber has been handed everything up to seq. */
  constructor(onDelivered: (seq: string) => void, plan: Planner, chunk = FANOUT_CHUNK) {
    this.#onDelivered = onDelivered
    this.#plan = plan
    this.#chunk = chunk
  }

  /** Slices still being handed out (the first one possibly halfway). */
  get pending(): number {
    return this.#queue.length
  }

  /** Slices that joined the one queued ahead of them instead of being handed out on their own. */
  get merged(): number {
    return this.#merged
  }

  /**
   * Queues a slice, planned now: a subscriber registered later starts after it. A slice behind one
   * that has not started (only the head is ever halfway) joins it, planned afresh: a subscriber
   * registered in between is then handed entries it already has, which its cursor drops
   * (subscriber.ts), and one closed in between is left out, as it would have been.
   */
  push(slice: EventSlice): void {
    const tail = this.#queue.length >= 2 ? this.#queue[this.#queue.length - 1] : undefined
    if (tail && tail.slice.entries.length + slice.entries.length <= FANOUT_MERGE_ENTRIES) {
      const joined = new EventSlice([...tail.slice.entries, ...slice.entries])
      this.#queue[this.#queue.length - 1] = { slice: joined, plan: this.#plan(joined) }
      this.#merged += 1
      return
    }
    this.#queue.push({ slice, plan: this.#plan(slice) })
    // A push from inside a delivery, or while a next turn is due, joins the queue behind the rest.
    if (!this.#running && !this.#scheduled) this.#run()
  }

  /** Drops what is queued (the hub stopped: its subscribers were ended). */
  clear(): void {
    this.#queue.length = 0
    this.#group = this.#index = 0
    if (this.#scheduled) clearImmediate(this.#scheduled)
    this.#scheduled = null
  }

  #run(): void {
    this.#running = true
    try {
      let budget = this.#chunk
      while (this.#queue.length > 0) {
        const head = this.#queue[0]
        budget = this.#handOut(head, budget)
        if (this.#group < head.plan.length) {
          this.#scheduled = setImmediate(() => {
            this.#scheduled = null
            this.#run()
          })
          return
        }
        this.#queue.shift()
        this.#group = this.#index = 0
        this.#onDelivered(head.slice.lastSeq)
      }
    } finally {
      this.#running = false
    }
  }

  /** Hands the head slice to at most `budget` more subscribers; returns the budget left. */
  #handOut({ slice, plan }: Pending, budget: number): number {
    while (this.#group < plan.length && budget > 0) {
      const { slice: part, subscribers } = plan[this.#group]
      while (this.#index < subscribers.length && budget > 0) {
        const subscriber = subscribers[this.#index++]
        budget--
        const own = part ?? slice.forExams(subscriber.examIds)
        if (own) subscriber.receive(own)
      }
      if (this.#index >= subscribers.length) {
        this.#group++
        this.#index = 0
      }
    }
    return budget
  }
}

// The subscribers of one instance, indexed by exam, so that an event only visits those who want it.
import type { EventSlice } from './log-entry.js'
import type { Subscriber } from './subscriber.js'

/** One part of a slice and the subscribers it goes to (null: each takes the entries about its own exams). */
export interface Delivery {
  readonly slice: EventSlice | null
  readonly subscribers: readonly Subscriber[]
}

export class SubscriberRegistry {
  readonly #all = new Set<Subscriber>()
  readonly #byExam = new Map<string, Set<Subscriber>>()
  #size = 0

  get size(): number {
    return this.#size
  }

  add(subscriber: Subscriber): void {
    this.#size++
    if (subscriber.examIds === null) {
      this.#all.add(subscriber)
      return
    }
    for (const examId of subscriber.examIds) {
      let set = this.#byExam.get(examId)
      if (!set) this.#byExam.set(examId, (set = new Set()))
      set.add(subscriber)
    }
  }

  remove(subscriber: Subscriber): void {
    if (subscriber.examIds === null) {
      if (this.#all.delete(subscriber)) this.#size--
      return
    }
    let removed = false
    for (const examId of subscriber.examIds) {
      const set = this.#byExam.get(examId)
      if (!set?.delete(subscriber)) continue
      removed = true
      if (set.size === 0) this.#byExam.delete(examId)
    }
    if (removed) this.#size--
  }

  /**
   * Who receives which part of the slice, as it stands now: the hub hands it out from these lists,
   * a chunk of subscribers per turn of the event loop. A group's `slice` is null when each of its
   * subscribers takes its own part (subscribers of several exams, when the slice spans several).
   */
  plan(slice: EventSlice): Delivery[] {
    const plan: Delivery[] = []
    if (this.#all.size > 0) plan.push({ slice, subscribers: [...this.#all] })
    if (this.#byExam.size === 0) return plan
    const examIds = new Set<string>()
    for (const entry of slice.entries) if (entry.examId !== null) examIds.add(entry.examId)
    if (examIds.size === 1) {
      // The common case: every subscriber of that exam gets the same (memoised) view.
      const examId = examIds.values().next().value as string
      const subscribers = this.#byExam.get(examId)
      const part = subscribers && slice.forExam(examId)
      if (subscribers && part) plan.push({ slice: part, subscribers: [...subscribers] })
      return plan
    }
    const targets = new Set<Subscriber>()
    for (const examId of examIds) for (const subscriber of this.#byExam.get(examId) ?? []) targets.add(subscriber)
    if (targets.size > 0) plan.push({ slice: null, subscribers: [...targets] })
    return plan
  }

  /** A copy, so that callers may close subscribers while iterating. */
  list(): Subscriber[] {
    const seen = new Set<Subscriber>(this.#all)
    for (const set of this.#byExam.values()) for (const subscriber of set) seen.add(subscriber)
    return [...seen]
  }
}

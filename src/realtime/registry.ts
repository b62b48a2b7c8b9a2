// The subscribers of one instance, indexed by exam, so that an event only visits those who want it.
import type { EventSlice } from './log-entry.js'
import type { Subscriber } from './subscriber.js'

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

  /** Hands each subscriber the part of the slice about its exams. */
  dispatch(slice: EventSlice): void {
    for (const subscriber of this.#all) subscriber.receive(slice)
    if (this.#byExam.size === 0) return
    const examIds = new Set<string>()
    for (const entry of slice.entries) if (entry.examId !== null) examIds.add(entry.examId)
    if (examIds.size === 1) return this.#dispatchOneExam(slice, examIds.values().next().value as string)
    const targets = new Set<Subscriber>()
    for (const examId of examIds) for (const subscriber of this.#byExam.get(examId) ?? []) targets.add(subscriber)
    for (const subscriber of targets) {
      const part = slice.forExams(subscriber.examIds)
      if (part) subscriber.receive(part)
    }
  }

  // The common case: every subscriber of that exam gets the same (memoised) view.
  #dispatchOneExam(slice: EventSlice, examId: string): void {
    const subscribers = this.#byExam.get(examId)
    if (!subscribers) return
    const part = slice.forExam(examId)
    if (part) for (const subscriber of subscribers) subscriber.receive(part)
  }

  /** A copy, so that callers may close subscribers while iterating. */
  list(): Subscriber[] {
    const seen = new Set<Subscriber>(this.#all)
    for (const set of this.#byExam.values()) for (const subscriber of set) seen.add(subscriber)
    return [...seen]
  }
}

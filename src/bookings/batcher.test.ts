// Unit tests of the group-commit batcher: batching, ordering, per-item errors, next-flight semantics.
import { describe, expect, it } from 'vitest'
import { Batcher } from './batcher.js'

const tick = () => new Promise((resolve) => setTimeout(resolve, 5))

describe('Batcher', () => {
  it('sends concurrent items in one flight and answers each in order', async () => {
    const flights: number[][] = []
    const batcher = new Batcher<number, number>({
      maxBatch: 100,
      maxInFlight: 1,
      run: async (items) => (flights.push(items), items.map((n) => n * 2)),
    })
    expect(await Promise.all([1, 2, 3].map((n) => batcher.submit(n)))).toEqual([2, 4, 6])
    expect(flights).toEqual([[1, 2, 3]])
  })

  it('splits past maxBatch and rejects only the failed items', async () => {
    const batcher = new Batcher<number, number>({
      maxBatch: 2,
      maxInFlight: 4,
      run: async (items) => items.map((n) => (n === 3 ? new Error('bad') : n)),
    })
    const results = await Promise.allSettled([1, 2, 3, 4, 5].map((n) => batcher.submit(n)))
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'fulfilled', 'rejected', 'fulfilled', 'fulfilled'])
    expect(batcher.flights).toBe(3)
  })

  it('never lets an item join a flight that left before it arrived', async () => {
    let release!: () => void
    const started: number[][] = []
    const batcher = new Batcher<number, number>({
      maxBatch: 100,
      maxInFlight: 1,
      run: async (items) => {
        started.push(items)
        if (started.length === 1) await new Promise<void>((resolve) => (release = resolve))
        return items
      },
    })
    const first = batcher.submit(1)
    await tick()
    const second = batcher.submit(2)
    await tick()
    expect(started).toEqual([[1]])
    release()
    await Promise.all([first, second])
    expect(started).toEqual([[1], [2]])
  })

  it('paces flights so that items queue into fewer, fuller batches', async () => {
    const flights: number[][] = []
    const batcher = new Batcher<number, number>({
      maxBatch: 100,
      maxInFlight: 4,
      minIntervalMs: 50,
      run: async (items) => (flights.push(items), items),
    })
    const started = Date.now()
    const all: Array<Promise<number>> = []
    for (let i = 0; i < 10; i++) {
      all.push(batcher.submit(i))
      await new Promise((resolve) => setTimeout(resolve, 10))
    }
    await Promise.all(all)
    expect(flights.flat()).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9])
    expect(flights.length).toBeLessThanOrEqual(4)
    expect(Date.now() - started).toBeGreaterThanOrEqual(100)
  })
})

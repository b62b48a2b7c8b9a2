// The fan-out queue: order per subscriber across slices, a chunk per turn, delivered() only at the end.
import { describe, expect, it } from 'vitest'
import type { ChangeEvent } from '../model/records.js'
import { Fanout } from './fanout.js'
import { EventSlice } from './log-entry.js'
import type { Subscriber } from './subscriber.js'

const slice = (...seqs: number[]) =>
  EventSlice.of(seqs.map((seq) => ({ seq: String(seq), kind: 'booking', exam_id: 'A' }) as ChangeEvent))

/** A stand-in for a subscriber: it records the seqs it is handed. */
function recorder() {
  const seqs: string[] = []
  const subscriber = { examIds: null, receive: (part: EventSlice) => seqs.push(...part.entries.map((e) => e.seq)) }
  return { seqs, subscriber: subscriber as unknown as Subscriber }
}

const nextTurn = () => new Promise((resolve) => setImmediate(resolve))

describe('the fan-out queue', () => {
  it('hands a slice to `chunk` subscribers per turn, and says it is delivered only when all have it', async () => {
    const delivered: string[] = []
    const fanout = new Fanout((seq) => delivered.push(seq), 3)
    const all = Array.from({ length: 7 }, recorder)
    fanout.push(slice(1), [{ slice: null, subscribers: all.map((r) => r.subscriber) }])
    expect(all.map((r) => r.seqs.length)).toEqual([1, 1, 1, 0, 0, 0, 0])
    expect(delivered).toEqual([])
    await nextTurn()
    expect(all.filter((r) => r.seqs.length === 1)).toHaveLength(6)
    await nextTurn()
    expect(all.every((r) => r.seqs.length === 1)).toBe(true)
    expect(delivered).toEqual(['1'])
    expect(fanout.pending).toBe(0)
  })

  it('keeps each subscriber in seq order when slices are pushed halfway through another', async () => {
    const fanout = new Fanout(() => undefined, 2)
    const all = Array.from({ length: 5 }, recorder)
    const plan = [{ slice: null, subscribers: all.map((r) => r.subscriber) }]
    fanout.push(slice(1), plan)
    fanout.push(slice(2, 3), plan)
    await nextTurn()
    fanout.push(
      slice(4),
      plan.map((group) => ({ ...group, subscribers: group.subscribers.slice(0, 2) })),
    )
    for (let turn = 0; turn < 10 && fanout.pending > 0; turn++) await nextTurn()
    expect(all.map((r) => r.seqs)).toEqual([
      ['1', '2', '3', '4'],
      ['1', '2', '3', '4'],
      ['1', '2', '3'],
      ['1', '2', '3'],
      ['1', '2', '3'],
    ])
  })

  it('drops what is queued on clear()', async () => {
    const delivered: string[] = []
    const fanout = new Fanout((seq) => delivered.push(seq), 1)
    const all = Array.from({ length: 3 }, recorder)
    fanout.push(slice(1), [{ slice: null, subscribers: all.map((r) => r.subscriber) }])
    fanout.clear()
    await nextTurn()
    expect(all.map((r) => r.seqs.length)).toEqual([1, 0, 0])
    expect(delivered).toEqual([])
    expect(fanout.pending).toBe(0)
  })
})

// The fan-out queue: order per subscriber across slices, a chunk per turn, delivered() only at the end.
import { describe, expect, it } from 'vitest'
import type { ChangeEvent } from '../model/records.js'
import { Fanout, FANOUT_MERGE_ENTRIES } from './fanout.js'
import { EventSlice } from './log-entry.js'
import type { Subscriber } from './subscriber.js'

const slice = (...seqs: number[]) =>
  EventSlice.of(seqs.map((seq) => ({ seq: String(seq), kind: 'booking', exam_id: 'A' }) as ChangeEvent))

/** A stand-in for a subscriber: it records the seqs it is handed, and each hand-over (one write). */
function recorder() {
  const seqs: string[] = []
  const writes: string[][] = []
  const receive = (part: EventSlice) => {
    const got = part.entries.map((e) => e.seq)
    seqs.push(...got)
    writes.push(got)
  }
  return { seqs, writes, subscriber: { examIds: null, receive } as unknown as Subscriber }
}

type Recorder = ReturnType<typeof recorder>

/** A fan-out of `chunk` subscribers per turn that plans every slice for whoever `current()` holds then (the registry's part). */
function fanoutOver(current: () => Recorder[], chunk: number, onDelivered: (seq: string) => void = () => undefined) {
  return new Fanout(onDelivered, () => [{ slice: null, subscribers: current().map((r) => r.subscriber) }], chunk)
}

const nextTurn = () => new Promise((resolve) => setImmediate(resolve))

/** Turns of the event loop until the queue is empty (at most `turns`). */
async function drain(fanout: Fanout, turns: number): Promise<void> {
  for (let turn = 0; turn < turns && fanout.pending > 0; turn++) await nextTurn()
}

describe('the fan-out queue', () => {
  it('hands a slice to `chunk` subscribers per turn, and says it is delivered only when all have it', async () => {
    const delivered: string[] = []
    const all = Array.from({ length: 7 }, recorder)
    const fanout = fanoutOver(
      () => all,
      3,
      (seq) => delivered.push(seq),
    )
    fanout.push(slice(1))
    expect(all.map((r) => r.seqs.length)).toEqual([1, 1, 1, 0, 0, 0, 0])
    expect(delivered).toEqual([])
    await nextTurn()
    expect(all.filter((r) => r.seqs.length === 1)).toHaveLength(6)
    await nextTurn()
    expect(all.every((r) => r.seqs.length === 1)).toBe(true)
    expect(delivered).toEqual(['1'])
    expect(fanout.pending).toBe(0)
  })

  it('keeps each subscriber in seq order when slices are pushed halfway through another, and leaves out the closed', async () => {
    const all = Array.from({ length: 5 }, recorder)
    let current = all
    const fanout = fanoutOver(() => current, 2)
    fanout.push(slice(1))
    fanout.push(slice(2, 3))
    await nextTurn()
    // Three of them close: a slice queued from now on is not for them.
    current = all.slice(0, 2)
    fanout.push(slice(4))
    await drain(fanout, 10)
    expect(all.map((r) => r.seqs)).toEqual([
      ['1', '2', '3', '4'],
      ['1', '2', '3', '4'],
      // 4 joined 2–3, planned afresh: the closed ones get neither (they would have got 2–3 alone).
      ['1'],
      ['1'],
      ['1'],
    ])
  })

  it('drops what is queued on clear()', async () => {
    const delivered: string[] = []
    const all = Array.from({ length: 3 }, recorder)
    const fanout = fanoutOver(
      () => all,
      1,
      (seq) => delivered.push(seq),
    )
    fanout.push(slice(1))
    fanout.clear()
    await nextTurn()
    expect(all.map((r) => r.seqs.length)).toEqual([1, 0, 0])
    expect(delivered).toEqual([])
    expect(fanout.pending).toBe(0)
  })

  it('joins slices queued behind one that has not started, so a fan-out that is behind writes each subscriber once', async () => {
    const delivered: string[] = []
    const all = Array.from({ length: 5 }, recorder)
    const fanout = fanoutOver(
      () => all,
      2,
      (seq) => delivered.push(seq),
    )
    fanout.push(slice(1))
    // Slice 1 is halfway: 2 and 3 queue behind it, 4 joins 2–3, 5–6 join them too.
    fanout.push(slice(2))
    fanout.push(slice(3))
    fanout.push(slice(4))
    fanout.push(slice(5, 6))
    expect(fanout.pending).toBe(2)
    expect(fanout.merged).toBe(3)
    await drain(fanout, 20)
    for (const r of all) expect(r.writes).toEqual([['1'], ['2', '3', '4', '5', '6']])
    expect(delivered).toEqual(['1', '6'])
  })

  it('joins no slice past FANOUT_MERGE_ENTRIES', async () => {
    const all = Array.from({ length: 3 }, recorder)
    const fanout = fanoutOver(() => all, 1)
    const seqs = Array.from({ length: FANOUT_MERGE_ENTRIES + 3 }, (_, i) => i + 2)
    fanout.push(slice(1))
    fanout.push(slice(...seqs.slice(0, FANOUT_MERGE_ENTRIES - 1)))
    fanout.push(slice(...seqs.slice(FANOUT_MERGE_ENTRIES - 1, FANOUT_MERGE_ENTRIES)))
    fanout.push(slice(...seqs.slice(FANOUT_MERGE_ENTRIES)))
    expect(fanout.merged).toBe(1)
    await drain(fanout, 50)
    for (const r of all) {
      expect(r.writes.map((w) => w.length)).toEqual([1, FANOUT_MERGE_ENTRIES, 3])
      expect(r.seqs).toEqual(['1', ...seqs.map(String)])
    }
  })
})

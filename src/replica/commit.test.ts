import { describe, expect, it } from 'vitest'
import type { ChangeEvent } from '../model/records.js'
import { createCommitPipeline } from './commit.js'

const event = (id: string) => ({ seq: id, hubspot_id: id }) as unknown as ChangeEvent
const noQueries = { query: async () => ({ rows: [], rowCount: 0 }) }

describe('commit pipeline', () => {
  it('runs the follower hook before any listener hears of the events, and resolves after both', async () => {
    const order: string[] = []
    let finishHook!: () => void
    const pipeline = createCommitPipeline({
      afterCommit: async (events) => {
        order.push(`hook ${events.map((e) => e.hubspot_id).join()}`)
        await new Promise<void>((resolve) => (finishHook = resolve))
        order.push('hook done')
      },
    })
    pipeline.onCommitted((events) => order.push(`heard ${events.map((e) => e.hubspot_id).join()}`))
    const { tx, events } = pipeline.begin(noQueries)
    tx.announce([event('a'), event('b')])
    const done = pipeline.committed(events())
    await Promise.resolve()
    expect(order).toEqual(['hook a,b'])
    finishHook()
    await done
    expect(order).toEqual(['hook a,b', 'hook done', 'heard a,b'])
  })

  it('announces in commit order when an earlier commit’s hook is the slower one', async () => {
    const heard: string[] = []
    const hooks = new Map<string, () => void>()
    const pipeline = createCommitPipeline({
      afterCommit: (events) => new Promise<void>((resolve) => hooks.set(events[0].hubspot_id, resolve)),
    })
    pipeline.onCommitted((events) => heard.push(events[0].hubspot_id))
    const first = pipeline.committed([event('1')])
    const second = pipeline.committed([event('2')])
    hooks.get('2')!()
    await Promise.resolve()
    await Promise.resolve()
    expect(heard).toEqual([])
    hooks.get('1')!()
    await Promise.all([first, second])
    expect(heard).toEqual(['1', '2'])
  })

  it('announces even when the hook fails, and reports the failure', async () => {
    const errors: Error[] = []
    const heard: string[] = []
    const pipeline = createCommitPipeline({
      afterCommit: async () => {
        throw new Error('Redis down')
      },
      onError: (error) => errors.push(error),
    })
    pipeline.onCommitted((events) => heard.push(events[0].hubspot_id))
    await pipeline.committed([event('x')])
    expect(heard).toEqual(['x'])
    expect(errors.map((e) => e.message)).toEqual(['Redis down'])
  })

  it('does nothing for a transaction that logged no events', async () => {
    let hooked = 0
    const pipeline = createCommitPipeline({ afterCommit: async () => void (hooked += 1) })
    pipeline.onCommitted(() => (hooked += 10))
    await pipeline.committed([])
    expect(hooked).toBe(0)
  })
})

// The GenerationStore contract as one suite, run against every implementation (in-process, Redis).
import { describe, expect, it } from 'vitest'
import type { GenerationStore } from '../../../src/cache/store.js'

export interface CacheStoreSubject {
  /** A store of its own (a fresh namespace), so that tests do not see each other's names. */
  open(): GenerationStore
  /** Whether get/set share bytes (Redis); the in-process store leaves that to the tier in front of it. */
  sharesBytes: boolean
}

export function cacheStoreSuite(name: string, subject: CacheStoreSubject): void {
  describe(`GenerationStore contract: ${name}`, () => {
    const withStore = async (fn: (store: GenerationStore) => Promise<void>) => {
      const store = subject.open()
      try {
        expect(await store.ready()).toBe(true)
        await fn(store)
      } finally {
        await store.close()
      }
    }

    it('answers one token per name, in order, and the same tokens until a bump', () =>
      withStore(async (store) => {
        const first = await store.readGenerations(['a', 'b', 'a'])
        expect(first).toHaveLength(3)
        expect(first[0]).toBe(first[2])
        expect(await store.readGenerations(['b', 'a'])).toEqual([first[1], first[0]])
      }))

    it('moves a bumped name to a token no earlier read held, and leaves the others alone', () =>
      withStore(async (store) => {
        const seen = new Set<string>()
        const [b0] = await store.readGenerations(['b'])
        for (let i = 0; i < 3; i++) {
          const [a] = await store.readGenerations(['a'])
          expect(seen.has(a!)).toBe(false)
          seen.add(a!)
          await store.bump(['a'])
        }
        expect(await store.readGenerations(['b'])).toEqual([b0])
      }))

    it('lets a read that starts after a bump returns see it, however many reads share a turn', () =>
      withStore(async (store) => {
        const [before] = await store.readGenerations(['exam:1'])
        const concurrent = Array.from({ length: 20 }, () => store.readGenerations(['exam:1']))
        await store.bump(['exam:1'])
        const after = await Promise.all(Array.from({ length: 20 }, () => store.readGenerations(['exam:1'])))
        for (const [token] of await Promise.all(concurrent)) expect(typeof token).toBe('string')
        for (const [token] of after) expect(token).not.toBe(before)
        expect(new Set(after.map(([token]) => token)).size).toBe(1)
      }))

    it('bumps nothing for an empty list', () =>
      withStore(async (store) => {
        const before = await store.readGenerations(['x'])
        await store.bump([])
        expect(await store.readGenerations(['x'])).toEqual(before)
      }))

    it(
      subject.sharesBytes
        ? 'shares bytes with their seq until the TTL runs out'
        : 'shares no bytes (get is always null)',
      () =>
        withStore(async (store) => {
          expect(await store.get('absent')).toBeNull()
          const body = Buffer.from('{"exams":[]}\n\u00e9')
          await store.set('k', { body, seq: '42' }, 300)
          const got = await store.get('k')
          if (!subject.sharesBytes) return expect(got).toBeNull()
          expect(got?.seq).toBe('42')
          expect(got?.body.equals(body)).toBe(true)
          await new Promise((resolve) => setTimeout(resolve, 450))
          expect(await store.get('k')).toBeNull()
        }),
    )
  })
}

// The ReplicaDriver contract as one suite, run against every backend (PGlite, pg): queries, transactions, locks, notifications.
import { randomBytes } from 'node:crypto'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { ChangeEvent } from '../../../src/model/records.js'
import { newOwnerKey, type ReplicaDriver } from '../../../src/replica/index.js'

export interface ReplicaDriverSubject {
  /** A driver on a database of its own; `close` undoes whatever open made. */
  open(): Promise<{ driver: ReplicaDriver; close(): Promise<void> }>
}

const event = (hubspotId: string): ChangeEvent => ({
  seq: '0',
  kind: 'exam',
  op: 'upsert',
  hubspot_id: hubspotId,
  exam_id: hubspotId,
  source: 'sync',
  at: new Date(0).toISOString(),
  changes: null,
  origin: null,
  row: null,
})

export function replicaDriverSuite(name: string, subject: ReplicaDriverSubject): void {
  describe(`ReplicaDriver contract: ${name}`, () => {
    let db: ReplicaDriver
    let close: () => Promise<void>
    const table = `conformance_${randomBytes(3).toString('hex')}`

    beforeAll(async () => {
      ;({ driver: db, close } = await subject.open())
      await db.query(`CREATE TABLE ${table} (id integer PRIMARY KEY, v text)`)
    })
    afterAll(async () => {
      await db?.query(`DROP TABLE IF EXISTS ${table}`).catch(() => undefined)
      await close?.()
    })

    it('runs parameterised queries and says how many rows they touched', async () => {
      const { rows } = await db.query<{ n: number }>('SELECT $1::int + 1 AS n', [41])
      expect(rows).toEqual([{ n: 42 }])
      const inserted = await db.query(`INSERT INTO ${table} (id, v) VALUES (1, 'a'), (2, 'b')`)
      expect(inserted.rowCount).toBe(2)
    })

    it('commits a transaction and returns its value; a throwing one leaves nothing behind and rethrows', async () => {
      const value = await db.transaction(async (tx) => {
        await tx.query(`INSERT INTO ${table} (id, v) VALUES (10, 'kept')`)
        return 'done'
      })
      expect(value).toBe('done')
      const boom = new Error('boom')
      await expect(
        db.transaction(async (tx) => {
          await tx.query(`INSERT INTO ${table} (id, v) VALUES (11, 'lost')`)
          throw boom
        }),
      ).rejects.toBe(boom)
      const { rows } = await db.query<{ id: number }>(`SELECT id FROM ${table} WHERE id >= 10 ORDER BY id`)
      expect(rows.map((row) => row.id)).toEqual([10])
    })

    it('tells committed listeners what a transaction announced, after COMMIT and in order; a rollback announces nothing', async () => {
      const heard: string[][] = []
      const off = db.onCommitted((events) => heard.push(events.map((e) => e.hubspot_id)))
      try {
        await db.transaction(async (tx) => {
          tx.announce([event('a'), event('b')])
          expect(heard).toEqual([])
        })
        await db
          .transaction(async (tx) => {
            tx.announce([event('never')])
            throw new Error('rolled back')
          })
          .catch(() => undefined)
        await db.transaction(async (tx) => tx.announce([event('c')]))
      } finally {
        off()
      }
      await db.transaction(async (tx) => tx.announce([event('after-off')]))
      expect(heard.flat()).toEqual(['a', 'b', 'c'])
    })

    it('has transactions send rows back only while a listener that uses them listens', async () => {
      const wantsRows = () => db.transaction(async (tx) => tx.wantsRows)
      expect(await wantsRows()).toBe(false)
      const offSeqsOnly = db.onCommitted(() => undefined, { rows: false })
      expect(await wantsRows()).toBe(false)
      const offWhole = db.onCommitted(() => undefined)
      expect(await wantsRows()).toBe(true)
      offWhole()
      expect(await wantsRows()).toBe(false)
      offSeqsOnly()
    })

    it('gives a try-lock to one holder at a time, per key', async () => {
      const key = newOwnerKey()
      const outer = await db.withTryLock(key, async () => {
        const inner = await db.withTryLock(key, async () => 'inner')
        const other = await db.withTryLock(key + 1, async () => 'other')
        return { inner, other }
      })
      expect(outer).toEqual({
        acquired: true,
        value: { inner: { acquired: false }, other: { acquired: true, value: 'other' } },
      })
      expect(await db.withTryLock(key, async () => 'again')).toEqual({ acquired: true, value: 'again' })
    })

    it('reports a held lock as locked until it is released', async () => {
      const key = newOwnerKey()
      expect(await db.isLocked(key)).toBe(false)
      const release = await db.holdLock(key)
      expect(await db.isLocked(key)).toBe(true)
      expect(await db.withTryLock(key, async () => 'taken')).toEqual({ acquired: false })
      await release()
      expect(await db.isLocked(key)).toBe(false)
    })

    it('delivers a notification to a listener on its channel (where the topology listens)', async () => {
      expect(['pg', 'pglite']).toContain(db.kind)
      if (db.topology.wakeups === 'poll')
        return expect(() => db.listen('x', { onNotify() {}, onReconnect() {} })).rejects.toThrow()
      const channel = `conformance_${randomBytes(3).toString('hex')}`
      const payloads: string[] = []
      const got = new Promise<void>((resolve) => {
        void db
          .listen(channel, {
            onNotify: (payload) => {
              payloads.push(payload)
              resolve()
            },
            onReconnect() {},
          })
          .then(async (unlisten) => {
            await db.notify(channel, 'hello')
            await got
            await unlisten()
          })
      })
      await got
      expect(payloads).toEqual(['hello'])
    })
  })
}

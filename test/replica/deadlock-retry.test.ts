// Two transactions that lock the same rows in opposite orders: Postgres aborts one (40P01), the driver runs it again.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { ReplicaDriver } from '../../src/replica/driver.js'
import { createPgDriver } from '../../src/replica/driver-pg.js'
import { detectPoolMode } from '../../src/replica/pool-mode.js'
import { realPostgres, freshDatabase, type TestDatabase } from '../support/env.js'

describe.skipIf(!realPostgres)('a deadlock victim is run again (I4: no 500 for any interleaving)', () => {
  let database: TestDatabase
  let db: ReplicaDriver

  beforeAll(async () => {
    database = await freshDatabase()
    db = createPgDriver({ connectionString: database.url!, poolMode: await detectPoolMode({ url: database.url! }) })
    await db.query('CREATE TABLE seats (id text PRIMARY KEY, n int NOT NULL)')
    await db.query(`INSERT INTO seats VALUES ('a', 0), ('b', 0)`)
  })
  afterAll(async () => {
    await db?.close()
    await database?.drop()
  })

  it('both transactions of a lock cycle commit, each exactly once', async () => {
    let runs = 0
    // Each transaction holds its first row until the other holds its own, so the cycle is certain.
    let arrived = 0
    let release!: () => void
    const bothHoldOne = new Promise<void>((resolve) => (release = resolve))
    const crossing = (first: string, second: string) =>
      db.transaction(async (tx) => {
        runs += 1
        await tx.query('UPDATE seats SET n = n + 1 WHERE id = $1', [first])
        if (++arrived === 2) release()
        await bothHoldOne
        await tx.query('UPDATE seats SET n = n + 1 WHERE id = $1', [second])
        return first
      })
    const results = await Promise.allSettled([crossing('a', 'b'), crossing('b', 'a')])
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'fulfilled'])
    // One of the two was chosen as the victim and ran a second time; its first run left nothing.
    expect(runs).toBe(3)
    const { rows } = await db.query<{ id: string; n: number }>('SELECT id, n FROM seats ORDER BY id')
    expect(rows).toEqual([
      { id: 'a', n: 2 },
      { id: 'b', n: 2 },
    ])
  })

  it('any other error is not retried', async () => {
    let runs = 0
    await expect(
      db.transaction(async (tx) => {
        runs += 1
        await tx.query('SELECT 1/0')
      }),
    ).rejects.toMatchObject({ code: '22012' })
    expect(runs).toBe(1)
  })
})

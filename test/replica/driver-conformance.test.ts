// Every ReplicaDriver passes the one contract suite: PGlite always, pg when DATABASE_URL is set.
import { describe } from 'vitest'
import { openReplica } from '../../src/replica/index.js'
import { replicaDriverSuite } from '../support/conformance/replica-driver.js'
import { freshDatabase, realPostgres, tempDir } from '../support/env.js'

replicaDriverSuite('PGlite', {
  async open() {
    const dir = tempDir()
    const driver = await openReplica({ databaseUrl: null, dataDir: dir.path }, { inMemory: true })
    return { driver, close: async () => (await driver.close(), dir.remove()) }
  },
})

describe.skipIf(!realPostgres)('pg', () => {
  replicaDriverSuite('pg', {
    async open() {
      const database = await freshDatabase()
      const dir = tempDir()
      const driver = await openReplica({ databaseUrl: database.url, dataDir: dir.path })
      return {
        driver,
        async close() {
          await driver.close()
          await database.drop()
          dir.remove()
        },
      }
    },
  })
})

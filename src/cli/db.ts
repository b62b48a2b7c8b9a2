// `hubmirror db migrate`: applies the schema migrations to the configured database.
import { loadConfig } from '../config/index.js'
import { migrate, openReplica } from '../replica/index.js'
import { refuseWhileServerHoldsEmbeddedDb } from './running-server.js'

export async function migrateCommand(): Promise<number> {
  const config = loadConfig()
  await refuseWhileServerHoldsEmbeddedDb(config, 'db migrate')
  const db = await openReplica(config)
  try {
    const applied = await migrate(db)
    console.log(applied.length ? `applied ${applied.join(', ')}` : 'schema is up to date')
    return 0
  } finally {
    await db.close()
  }
}

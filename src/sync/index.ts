// The sync part's public face: createSyncEngine, the progress reporter and the types.
import { Engine, type SyncEngineOptions } from './engine.js'
import type { SyncEngine } from './types.js'

export type { SyncEngineOptions } from './engine.js'
export { createProgress } from './progress.js'
export * from './types.js'

export function createSyncEngine(options: SyncEngineOptions): SyncEngine {
  return new Engine(options)
}

// What every sync operation works with: built once by the engine, extended by each operation with its own fields.
import type { ObjectTypes } from '../hubspot/index.js'
import type { ReplicaDriver } from '../replica/index.js'
import type { Applier } from './apply.js'
import type { Crm } from './crm-port.js'

export interface SyncContext {
  db: ReplicaDriver
  crm: Crm
  /** HubSpot's object type ids (custom objects differ per portal), resolved per operation. */
  types: ObjectTypes
  applier: Applier
  /** Aborted when the engine stops: operations give up between pages. */
  signal: AbortSignal
}

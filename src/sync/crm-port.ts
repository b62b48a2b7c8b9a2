// The three HubSpot reads the sync engine uses, wrapped to count calls by kind (list, search, batch read).
import type { CrmObjects } from '../hubspot/index.js'

export type Crm = Pick<CrmObjects, 'listPage' | 'search' | 'batchRead'>

export interface CallCounts {
  list: number
  search: number
  batchRead: number
}

export function countingCrm(crm: CrmObjects, counts: CallCounts): Crm {
  return {
    listPage: (type, options) => {
      counts.list += 1
      return crm.listPage(type, options)
    },
    search: (type, request) => {
      counts.search += 1
      return crm.search(type, request)
    },
    batchRead: (type, ids, properties, options) => {
      counts.batchRead += 1
      return crm.batchRead(type, ids, properties, options)
    },
  }
}

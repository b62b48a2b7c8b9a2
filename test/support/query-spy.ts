// A replica driver whose statements outside transactions go through a test's own `query` (to count or fail them).
import type { ReplicaDriver } from '../../src/replica/index.js'

export function withQuery(
  driver: ReplicaDriver,
  query: (sql: string, params?: unknown[]) => ReturnType<ReplicaDriver['query']>,
): ReplicaDriver {
  return Object.assign(Object.create(driver) as ReplicaDriver, { query })
}

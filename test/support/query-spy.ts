// A replica driver whose statements outside transactions go through a test's own `query` (to count or fail them).
import type { ReplicaDriver, Transaction } from '../../src/replica/index.js'

export function withQuery(
  driver: ReplicaDriver,
  query: (sql: string, params?: unknown[]) => ReturnType<ReplicaDriver['query']>,
): ReplicaDriver {
  return Object.assign(Object.create(driver) as ReplicaDriver, { query })
}

/** The driver, with every statement it is sent recorded (outside transactions and inside them) and its transactions counted. */
export function countingStatements(driver: ReplicaDriver): {
  db: ReplicaDriver
  statements: string[]
  transactions: () => number
} {
  const statements: string[] = []
  let transactions = 0
  const spied = withQuery(driver, (sql, params) => {
    statements.push(sql)
    return driver.query(sql, params)
  })
  const db = Object.assign(spied, {
    transaction: ((fn, options) => {
      transactions++
      return driver.transaction(
        (tx) =>
          fn(
            Object.assign(Object.create(tx) as Transaction, {
              query: (sql: string, params?: unknown[]) => {
                statements.push(sql)
                return tx.query(sql, params)
              },
            }),
          ),
        options,
      )
    }) as ReplicaDriver['transaction'],
  })
  return { db, statements, transactions: () => transactions }
}

// Every RateBudget passes the one contract suite: in-process always, Redis when REDIS_URL is set.
import { describe } from 'vitest'
import { createLocalBudget } from '../../src/hubspot/budget.js'
import { createRedisBudget } from '../../src/hubspot/budget-redis.js'
import { rateBudgetSuite } from '../support/conformance/rate-budget.js'
import { realRedis, testNamespace } from '../support/env.js'

rateBudgetSuite('in-process', { open: (limits) => createLocalBudget(limits) })

describe.skipIf(!realRedis)('Redis', () => {
  rateBudgetSuite('Redis', {
    open: (limits) =>
      createRedisBudget({
        url: process.env.REDIS_URL!,
        namespace: testNamespace('budget'),
        limits,
      }),
  })
})

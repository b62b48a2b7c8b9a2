// Test runs' global setup: every Redis namespace a run uses starts with one prefix of its own, and its keys are dropped when the run ends.
import { randomBytes } from 'node:crypto'
import { dropRedisKeys } from './redis-keys.js'

/** Read by testNamespace (env.ts) in the workers, which inherit it. */
export const RUN_PREFIX_VARIABLE = 'HUBMIRROR_TEST_REDIS_PREFIX'

/**
 * Without it, a `.ci/run` left ~2,500 keys in Redis (each suite's namespaces, and the default `hm`
 * of the processes tests spawn without one). The spawned processes inherit the default set here.
 */
export default function setup(): () => Promise<void> {
  const saved = { prefix: process.env[RUN_PREFIX_VARIABLE], namespace: process.env.HUBMIRROR_REDIS_NAMESPACE }
  const prefix = `hmtest-${randomBytes(4).toString('hex')}`
  process.env[RUN_PREFIX_VARIABLE] = prefix
  process.env.HUBMIRROR_REDIS_NAMESPACE ??= `${prefix}-spawned`
  return async () => {
    for (const [name, value] of [
      [RUN_PREFIX_VARIABLE, saved.prefix],
      ['HUBMIRROR_REDIS_NAMESPACE', saved.namespace],
    ] as const) {
      if (value === undefined) delete process.env[name]
      else process.env[name] = value
    }
    // Best effort: Redis gone by the end of a run is not the run's failure.
    await dropRedisKeys(process.env.REDIS_URL, `${prefix}-`).catch(() => undefined)
  }
}

// A test run leaves Redis as it found it: every namespace the suites use carries the run's prefix, and the run's end drops its keys.
import { readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { Redis } from 'ioredis'
import { afterAll, describe, expect, it } from 'vitest'
import { realRedis, testConfig, testNamespace } from '../support/env.js'
import setup, { RUN_PREFIX_VARIABLE } from '../support/run-redis-keys.js'

describe('Redis keys of a test run', () => {
  it("gives every suite's namespace, and the processes tests spawn, the run's prefix", () => {
    const prefix = process.env[RUN_PREFIX_VARIABLE]
    expect(prefix, 'set by the global setup').toMatch(/^hmtest-[0-9a-f]{8}$/)
    expect(testNamespace('x')).toMatch(new RegExp(`^${prefix}-x-[0-9a-f]{8}$`))
    expect(testConfig().redisNamespace.startsWith(`${prefix}-`)).toBe(true)
    expect(process.env.HUBMIRROR_REDIS_NAMESPACE?.startsWith(`${prefix}-`)).toBe(true)
  })

  it('names no namespace in a test but through testNamespace (a literal one would outlive the run)', () => {
    const literal = /(?:amespace|NAMESPACE)['"]?\s*[:=]\s*[`'"]/
    const offenders: string[] = []
    for (const root of ['test', 'src']) {
      for (const file of readdirSync(root, { recursive: true, encoding: 'utf8' })) {
        if (!file.endsWith('.ts') || (root === 'src' && !file.endsWith('.test.ts'))) continue
        const lines = readFileSync(join(root, file), 'utf8').split('\n')
        lines.forEach((line, i) => literal.test(line) && offenders.push(`${root}/${file}:${i + 1}: ${line.trim()}`))
      }
    }
    expect(offenders).toEqual([])
  })

  describe.skipIf(!realRedis)('at the end of a run', () => {
    const redis = new Redis(process.env.REDIS_URL as string)
    afterAll(() => redis.disconnect())

    it("drops the run's keys and no one else's, and puts the environment back", async () => {
      const outer = { prefix: process.env[RUN_PREFIX_VARIABLE], namespace: process.env.HUBMIRROR_REDIS_NAMESPACE }
      const teardown = setup()
      const inner = process.env[RUN_PREFIX_VARIABLE]!
      expect(inner).not.toBe(outer.prefix)
      const ours = Array.from({ length: 1500 }, (_, i) => `${testNamespace('drop')}:k${i}`)
      // Another run's keys, and a namespace that only starts with the same characters.
      const theirs = [`${outer.prefix}-other:k`, `${inner}x:k`]
      await redis.mset(...[...ours, ...theirs].flatMap((key) => [key, '1']))
      await teardown()
      expect(await redis.exists(...ours)).toBe(0)
      expect(await redis.exists(...theirs)).toBe(2)
      await redis.del(...theirs)
      expect(process.env[RUN_PREFIX_VARIABLE]).toBe(outer.prefix)
      expect(process.env.HUBMIRROR_REDIS_NAMESPACE).toBe(outer.namespace)
    })
  })
})

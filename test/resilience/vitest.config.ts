// The resilience suite: run alone (it restarts servers), with `npm run test:resilience`.
import { defineConfig } from 'vitest/config'

export default defineConfig({
  test: {
    include: ['test/resilience/**/*.test.ts'],
    pool: 'forks',
    globalSetup: ['test/support/run-temp-dir.ts', 'test/support/run-redis-keys.ts'],
    fileParallelism: false,
    testTimeout: 300_000,
    hookTimeout: 120_000,
  },
})

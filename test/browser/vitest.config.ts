// Browser tests: Chromium (playwright-core) against a real hubmirror server; run on their own.
import { fileURLToPath } from 'node:url'
import { defineConfig } from 'vitest/config'

export default defineConfig({
  test: {
    root: fileURLToPath(new URL('../..', import.meta.url)),
    include: ['test/browser/**/*.test.ts'],
    // One server for every file: its start (demo seed, backfill) is most of the suite's time.
    globalSetup: [
      'test/support/run-temp-dir.ts',
      'test/support/run-redis-keys.ts',
      'test/support/browser-global-setup.ts',
    ],
    exclude: ['node_modules/**'],
    pool: 'forks',
    fileParallelism: false,
    testTimeout: 60_000,
    hookTimeout: 240_000,
    reporters: ['default'],
  },
})

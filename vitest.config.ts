// Test runner configuration: unit tests beside the code, cross-component tests under test/.
import { defineConfig } from 'vitest/config'

export default defineConfig({
  test: {
    include: ['src/**/*.test.ts', 'test/**/*.test.ts'],
    exclude: ['node_modules/**', 'test/browser/**', 'test/resilience/**'],
    pool: 'forks',
    globalSetup: ['test/support/run-temp-dir.ts', 'test/support/run-redis-keys.ts'],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    reporters: ['default'],
    // *.test-d.ts pin public types (src/client's): tsc checks them as part of `npm test`.
    typecheck: { enabled: true, include: ['src/**/*.test-d.ts'], tsconfig: './tsconfig.json' },
    // graphql-ws must share our copy of graphql: Vite resolves graphql to its ESM build, Node (for an
    // external graphql-ws) to the CJS one, and graphql refuses a schema from "another realm".
    server: { deps: { inline: ['graphql-ws'] } },
  },
})

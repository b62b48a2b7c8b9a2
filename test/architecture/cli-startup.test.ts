// `hubmirror backfill | sync | reconcile` load none of the server's packages, nor PGlite until they need it: their start-up is part of what a person waits for.
import { existsSync, readFileSync } from 'node:fs'
import { dirname, resolve } from 'node:path'
import { describe, expect, it } from 'vitest'

/** Packages only the HTTP server needs (Fastify and its plugins, GraphQL, the metrics registry). */
const SERVER_ONLY = /^(fastify|@fastify\/|fastify-|graphql|prom-client)/
/** The embedded database: loaded when no DATABASE_URL is set, by a dynamic import (~30 ms a command otherwise). */
const EMBEDDED_ONLY = /^@electric-sql\/pglite/

/** Value imports (`import type` is erased), re-exports and side-effect imports of one source. */
const VALUE_IMPORT =
  /^\s*(?:import(?!\s+type\b)[^'"]*?from\s+|export(?!\s+type\b)[^'"]*?from\s+|import\s+)['"]([^'"]+)['"]/gm

/** Every package a module loads, following its relative imports through the tree. */
function packagesLoadedBy(entry: string): Map<string, string> {
  const packages = new Map<string, string>()
  const seen = new Set<string>()
  const visit = (file: string) => {
    if (seen.has(file)) return
    seen.add(file)
    for (const [, spec] of readFileSync(file, 'utf8').matchAll(VALUE_IMPORT)) {
      if (spec.startsWith('.')) {
        const target = resolve(dirname(file), spec.replace(/\.js$/, '.ts'))
        if (existsSync(target)) visit(target)
      } else if (!spec.startsWith('node:') && !packages.has(spec)) packages.set(spec, file)
    }
  }
  visit(resolve(entry))
  return packages
}

const packagesLike = (entry: string, pattern: RegExp) =>
  [...packagesLoadedBy(entry)].filter(([spec]) => pattern.test(spec)).map(([spec, by]) => `${spec} (by ${by})`)

describe('the CLI sync commands start without the server', () => {
  it('load none of the HTTP server packages', () => {
    expect(packagesLike('src/cli/sync.ts', SERVER_ONLY)).toEqual([])
  })

  it('would notice one: the server command loads Fastify', () => {
    expect(packagesLike('src/cli/serve.ts', SERVER_ONLY).some((line) => line.startsWith('fastify '))).toBe(true)
  })

  it('load PGlite only when they open the embedded database', () => {
    expect(packagesLike('src/cli/sync.ts', EMBEDDED_ONLY)).toEqual([])
    expect(packagesLike('src/replica/driver-pglite.ts', EMBEDDED_ONLY)).not.toEqual([])
  })
})

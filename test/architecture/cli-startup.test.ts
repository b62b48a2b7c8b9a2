// `hubmirror backfill | sync | reconcile` load none of the server's packages: their start-up is part of what a person waits for.
import { existsSync, readFileSync } from 'node:fs'
import { dirname, resolve } from 'node:path'
import { describe, expect, it } from 'vitest'

/** Packages only the HTTP server needs (Fastify and its plugins, GraphQL, the metrics registry). */
const SERVER_ONLY = /^(fastify|@fastify\/|fastify-|graphql|prom-client)/

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

const serverPackages = (entry: string) =>
  [...packagesLoadedBy(entry)].filter(([spec]) => SERVER_ONLY.test(spec)).map(([spec, by]) => `${spec} (by ${by})`)

describe('the CLI sync commands start without the server', () => {
  it('load none of the HTTP server packages', () => {
    expect(serverPackages('src/cli/sync.ts')).toEqual([])
  })

  it('would notice one: the server command loads Fastify', () => {
    expect(serverPackages('src/cli/serve.ts').some((line) => line.startsWith('fastify '))).toBe(true)
  })
})

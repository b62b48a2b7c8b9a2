// The import rules of docs/ARCHITECTURE.md as code: which part of src/ (and web/) may import which; run by `npm run lint`.
import { readdirSync, readFileSync } from 'node:fs'
import { basename, dirname, join, relative, resolve, sep } from 'node:path'
import { fileURLToPath } from 'node:url'

/** Shared by every part, importing nothing of the product. */
const BASE = ['model', 'errors', 'logger', 'config']
/**
 * What each part may import (besides itself). Arrows point one way:
 * http → domain (bookings) / sync / realtime / doctor → replica / cache / hubspot → config, model.
 */
export const ALLOWED: Record<string, readonly string[]> = {
  model: [],
  errors: [],
  config: ['model'],
  logger: ['config'],
  hubspot: BASE,
  replica: BASE,
  cache: BASE,
  emulator: ['config', 'model'],
  realtime: [...BASE, 'replica'],
  sync: [...BASE, 'hubspot', 'replica', 'cache'],
  doctor: [...BASE, 'hubspot', 'replica', 'cache'],
  bookings: [...BASE, 'hubspot', 'replica', 'cache', 'sync'],
  http: [...BASE, 'hubspot', 'replica', 'cache', 'sync', 'bookings', 'realtime', 'doctor'],
  'sync-parts': [...BASE, 'hubspot', 'replica', 'cache', 'sync', 'bookings'],
  app: [...BASE, 'hubspot', 'replica', 'cache', 'sync', 'bookings', 'realtime', 'doctor', 'http', 'sync-parts'],
  cli: [
    ...BASE,
    'hubspot',
    'replica',
    'cache',
    'sync',
    'bookings',
    'realtime',
    'doctor',
    'http',
    'app',
    'sync-parts',
    'emulator',
  ],
  index: ['app', 'config', 'client', 'model', 'errors'],
  client: ['model'],
  web: ['client', 'model'],
}
/** Packages a part must not import: the realtime core stays free of the HTTP framework (transports live in http/). */
export const FORBIDDEN_PACKAGES: Record<string, readonly string[]> = {
  realtime: ['fastify', '@fastify/'],
  client: ['fastify', 'pg', 'ioredis', 'pino'],
}

/** The part a repo-relative path belongs to, or null when the rules do not cover it (tests, bench). */
export function partOf(path: string): string | null {
  const p = path.split(sep).join('/')
  if (p.startsWith('web/src/')) return 'web'
  const m = /^src\/([^/]+?)(?:\.ts|\/.*)$/.exec(p)
  if (!m) return null
  return m[1]
}

export interface Violation {
  file: string
  imports: string
  rule: string
}

const IMPORT = /(?:^|\n)\s*(?:import|export)\s[^'"]*?from\s+['"]([^'"]+)['"]|import\(\s*['"]([^'"]+)['"]\s*\)/g

/** The rule violations of one file's source, given its repo-relative path. */
export function checkSource(file: string, source: string): Violation[] {
  const part = partOf(file)
  if (!part || file.includes('.test.')) return []
  // Fakes that product code could import, or that drift from the real thing unseen, stay with the tests.
  if (/(^|[-_])(fake|stub)s?([-_.])/.test(basename(file)))
    return [{ file, imports: '', rule: 'test fakes live under test/support, not in src' }]
  const allowed = ALLOWED[part]
  if (!allowed) return [{ file, imports: '', rule: `src/${part} is not a known part: add it to ALLOWED` }]
  const out: Violation[] = []
  for (const match of source.matchAll(IMPORT)) {
    const spec = match[1] ?? match[2]!
    if (spec.startsWith('.')) {
      const target = relative('.', resolve(dirname(file), spec))
      if (target.split(sep)[0] === 'test') {
        out.push({ file, imports: spec, rule: 'product code never imports test helpers' })
        continue
      }
      const to = partOf(target.replace(/\.js$/, '.ts'))
      if (to && to !== part && !allowed.includes(to))
        out.push({
          file,
          imports: spec,
          rule: `${part} may not import ${to} (allowed: ${allowed.join(', ') || 'nothing'})`,
        })
    } else {
      for (const banned of FORBIDDEN_PACKAGES[part] ?? [])
        if (spec === banned || spec.startsWith(banned.endsWith('/') || banned.endsWith(':') ? banned : `${banned}/`))
          out.push({ file, imports: spec, rule: `${part} must not depend on ${banned}` })
    }
  }
  return out
}

function* sources(dir: string): Generator<string> {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name)
    if (entry.isDirectory()) yield* sources(path)
    else if (/\.tsx?$/.test(entry.name)) yield path
  }
}

export function checkRepo(root: string): Violation[] {
  const out: Violation[] = []
  for (const top of ['src', 'web/src'])
    for (const path of sources(join(root, top))) {
      const file = relative(root, path)
      out.push(...checkSource(file, readFileSync(path, 'utf8')))
    }
  return out
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const root = resolve(dirname(fileURLToPath(import.meta.url)), '..')
  process.chdir(root)
  const violations = checkRepo('.')
  for (const v of violations) console.error(`${v.file}: imports ${v.imports}: ${v.rule}`)
  if (violations.length) process.exit(1)
  console.log('import rules: ok')
}

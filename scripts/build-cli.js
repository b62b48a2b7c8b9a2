// Bundles the CLI into dist/cli/main.js (with the SQL migrations beside it), so that the command starts without transpiling TypeScript.
import { cpSync, rmSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { build } from 'esbuild'

const ROOT = dirname(dirname(fileURLToPath(import.meta.url)))
const OUT = join(ROOT, 'dist/cli')

/**
 * Packages left to node_modules: the server's (only `serve` loads them, through its own chunk), the
 * embedded database's (WASM files beside its code), the TypeScript loader's, and pg's optional
 * natives. Everything else the commands load is bundled (235 modules of packages), so that a command
 * reads its chunks instead of resolving and reading each of those modules at every start.
 */
const EXTERNAL = [
  'fastify',
  '@fastify/*',
  'graphql',
  'graphql-ws',
  'prom-client',
  'ws',
  '@electric-sql/pglite',
  '@electric-sql/pglite/*',
  'tsx',
  'tsx/*',
  'esbuild',
  'pg-native',
  'pg-cloudflare',
  'cloudflare:sockets',
]

rmSync(OUT, { recursive: true, force: true })
// The migrations are read at run time from beside the module (src/replica/migrate.ts's import.meta.url);
// the other files the sources read (package.json, web/dist/) are two levels up from both places.
cpSync(join(ROOT, 'src/replica/migrations'), join(OUT, 'migrations'), { recursive: true })
await build({
  stdin: {
    contents: [
      "export { main } from './src/cli/main.ts'",
      "export { PRIVATE_UMASK } from './src/config/data-dir.ts'",
    ].join('\n'),
    resolveDir: ROOT,
    sourcefile: 'hubmirror-cli.js',
    loader: 'js',
  },
  bundle: true,
  platform: 'node',
  target: 'node20',
  format: 'esm',
  external: EXTERNAL,
  // The bundled packages' CommonJS require Node's own modules: give the ESM bundle a require.
  banner: {
    js: "import { createRequire as __hubmirrorRequire } from 'node:module'; const require = __hubmirrorRequire(import.meta.url);",
  },
  // Chunks: each command still loads only its own modules and packages, as the sources' lazy imports intend.
  splitting: true,
  outdir: OUT,
  entryNames: 'main',
  sourcemap: 'linked',
  logLevel: 'warning',
})

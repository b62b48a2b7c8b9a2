// Bundles the CLI into dist/cli/main.js (with the SQL migrations beside it), so that the command starts without transpiling TypeScript.
import { cpSync, rmSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { build } from 'esbuild'

const ROOT = dirname(dirname(fileURLToPath(import.meta.url)))
const OUT = join(ROOT, 'dist/cli')

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
  packages: 'external',
  // Chunks: each command still loads only its own modules and packages, as the sources' lazy imports intend.
  splitting: true,
  outdir: OUT,
  entryNames: 'main',
  sourcemap: 'linked',
  logLevel: 'warning',
})

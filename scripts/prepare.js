// Runs after `npm ci`: builds the dashboard so that `npm start` serves it with no other step.
import { spawnSync } from 'node:child_process'
import { existsSync } from 'node:fs'

if (!existsSync('web/vite.config.ts') || !existsSync('node_modules/vite')) {
  console.log('prepare: no dashboard sources or no vite (production install); skipping the web build')
  process.exit(0)
}
const result = spawnSync(
  process.execPath,
  ['node_modules/vite/bin/vite.js', 'build', '--config', 'web/vite.config.ts', '--logLevel', 'warn'],
  { stdio: 'inherit' },
)
process.exit(result.status ?? 1)

// Runs after `npm ci`: bundles the CLI (so that it starts without tsx) and builds the dashboard (so that `npm start` serves it).
import { spawnSync } from 'node:child_process'
import { existsSync } from 'node:fs'

function run(args) {
  const result = spawnSync(process.execPath, args, { stdio: 'inherit' })
  if (result.status !== 0) process.exit(result.status ?? 1)
}

if (existsSync('src/cli/main.ts') && existsSync('node_modules/esbuild')) run(['scripts/build-cli.js'])
else console.log('prepare: no CLI sources or no esbuild; the command runs its sources through tsx')
if (!existsSync('web/vite.config.ts') || !existsSync('node_modules/vite')) {
  console.log('prepare: no dashboard sources or no vite (production install); skipping the web build')
  process.exit(0)
}
run(['node_modules/vite/bin/vite.js', 'build', '--config', 'web/vite.config.ts', '--logLevel', 'warn'])

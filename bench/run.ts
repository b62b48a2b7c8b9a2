// Runs one named benchmark, or all of them in turn: node --import tsx bench/run.ts <name|all>.
import { spawn } from 'node:child_process'
import { existsSync } from 'node:fs'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'

const HERE = dirname(fileURLToPath(import.meta.url))
const ROOT = resolve(HERE, '..')
const NAMES = [
  'read-path',
  'write-path',
  'emulator',
  'backfill',
  'realtime',
  'scale',
  'write-cpu',
  'search',
  'exports',
  'history',
  'startup',
] as const

/** Each benchmark is its own process: one's servers and timers cannot disturb the next. */
function runOne(name: string): Promise<number> {
  const script = join(HERE, name, 'run.ts')
  if (!existsSync(script)) {
    console.log(`bench ${name}: ${script} does not exist yet, skipped`)
    return Promise.resolve(0)
  }
  console.log(`\n=== bench ${name} ===`)
  return new Promise((done) => {
    const child = spawn(process.execPath, ['--import', 'tsx', script, ...process.argv.slice(3)], {
      cwd: ROOT,
      stdio: 'inherit',
    })
    // Ctrl-C reaches the child through the terminal; wait for it to clean up rather than dying first.
    const ignore = () => undefined
    process.on('SIGINT', ignore)
    child.once('exit', (code, signal) => {
      process.off('SIGINT', ignore)
      done(code ?? (signal ? 1 : 0))
    })
  })
}

const target = process.argv[2]
if (!target || (target !== 'all' && !(NAMES as readonly string[]).includes(target))) {
  console.error(`usage: node --import tsx bench/run.ts <${NAMES.join('|')}|all>`)
  process.exit(2)
}
const failed: string[] = []
for (const name of target === 'all' ? NAMES : [target]) {
  if ((await runOne(name)) !== 0) failed.push(name)
}
if (failed.length > 0) {
  console.error(`\nfailed: ${failed.join(', ')}`)
  process.exitCode = 1
}

#!/usr/bin/env node
// The hubmirror command: runs the long batch commands in a child with a capped heap, and the CLI from its prebuilt bundle or through tsx.
import { fork } from 'node:child_process'
import { constants } from 'node:os'
import { dirname } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { BUNDLE, chooseEntry } from './entry.js'

/**
 * backfill and reconcile stream whole object types: V8 left alone grows its heap far past what
 * they hold live (480 MB of RSS at a million bookings), so they run with an old space of 160 MB,
 * in which they do not slow down. Everything else starts no second process.
 */
const CAPPED = new Set(['backfill', 'reconcile'])
const HEAP_MB = 160
const MAX_OLD_SPACE = /--max[-_]old[-_]space[-_]size/
const RELAYED = ['SIGINT', 'SIGTERM', 'SIGHUP']
const ROOT = dirname(dirname(fileURLToPath(import.meta.url)))

const launchedBy = process.env.HUBMIRROR_LAUNCHED_BY
const heapChosen =
  MAX_OLD_SPACE.test(process.env.NODE_OPTIONS ?? '') || process.execArgv.some((a) => MAX_OLD_SPACE.test(a))

if (!launchedBy && !heapChosen && CAPPED.has(process.argv[2])) {
  const child = fork(fileURLToPath(import.meta.url), process.argv.slice(2), {
    execArgv: [...process.execArgv, `--max-old-space-size=${HEAP_MB}`],
    env: { ...process.env, HUBMIRROR_LAUNCHED_BY: String(process.pid) },
    stdio: 'inherit',
  })
  // Ctrl-C reaches both processes through the terminal; kill and service managers reach only this one.
  for (const signal of RELAYED) process.on(signal, () => child.kill(signal))
  child.once('error', (error) => {
    process.stderr.write(`hubmirror: could not start the ${process.argv[2]} process: ${error.message}\n`)
    process.exit(1)
  })
  child.once('exit', (code, signal) => process.exit(signal ? 128 + constants.signals[signal] : (code ?? 1)))
} else {
  if (launchedBy) {
    delete process.env.HUBMIRROR_LAUNCHED_BY
    // The channel only tells us the launcher is gone (even by SIGKILL): it must not keep us alive.
    process.channel?.unref()
    process.once('disconnect', () => process.exit(1))
  }
  const entry = chooseEntry(ROOT)
  if (entry === 'tsx') (await import('tsx/esm/api')).register()
  const cli =
    entry === 'bundle'
      ? await import(pathToFileURL(`${ROOT}/${BUNDLE}`).href)
      : {
          ...(await import('../src/config/data-dir.ts')),
          ...(await import('../src/cli/main.ts')),
        }
  // Everything any command creates (PGlite's files, the emulator's state, secrets) is the owner's only.
  process.umask(cli.PRIVATE_UMASK)
  process.exitCode = await cli.main(process.argv.slice(2))
}

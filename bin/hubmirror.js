#!/usr/bin/env node
// The hubmirror command: loads the TypeScript sources through tsx, then runs the CLI.
import { register } from 'tsx/esm/api'

register()
// Everything any command creates (PGlite's files, the emulator's state, secrets) is the owner's only.
const { PRIVATE_UMASK } = await import('../src/config/data-dir.ts')
process.umask(PRIVATE_UMASK)
const { main } = await import('../src/cli/main.ts')
process.exitCode = await main(process.argv.slice(2))

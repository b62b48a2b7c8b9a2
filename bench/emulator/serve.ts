// Runs the emulator CLI in the benchmark's child process.
import { runEmulatorCli } from '../../src/emulator/index.js'

await runEmulatorCli(process.argv.slice(2))

// Runs `hubmirror serve` as a child process, so tests can kill -9 it and start it again.
import { spawn, type ChildProcess } from 'node:child_process'
import { createServer } from 'node:net'

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer()
    server.unref()
    server.on('error', reject)
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number }
      server.close(() => resolve(port))
    })
  })
}

export interface ChildServer {
  url: string
  process: ChildProcess
  output(): string
  /** Resolves with the signal or exit code once the process is gone. */
  exited: Promise<NodeJS.Signals | number | null>
  kill(signal?: NodeJS.Signals): Promise<void>
}

export async function startChildServer(
  env: Record<string, string | undefined>,
  timeoutMs = 60_000,
): Promise<ChildServer> {
  const port = await freePort()
  const child = spawn(process.execPath, ['bin/hubmirror.js', 'serve'], {
    env: { ...process.env, LOG_LEVEL: 'warn', ...env, PORT: String(port), HOST: '127.0.0.1' },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  let output = ''
  child.stdout.on('data', (chunk) => (output += chunk))
  child.stderr.on('data', (chunk) => (output += chunk))
  // 'close', not 'exit': only then has all of the child's output been read (the last log lines
  // of a shutdown can still be in the pipe when the process exits).
  const exited = new Promise<NodeJS.Signals | number | null>((resolve) =>
    child.once('close', (code, signal) => resolve(signal ?? code)),
  )
  const url = `http://127.0.0.1:${port}`
  const started = Date.now()
  while (!output.includes('hubmirror is running')) {
    if (child.exitCode !== null || child.signalCode !== null) throw new Error(`server exited early:\n${output}`)
    if (Date.now() - started > timeoutMs) {
      child.kill('SIGKILL')
      throw new Error(`server did not start in ${timeoutMs} ms:\n${output}`)
    }
    await new Promise((resolve) => setTimeout(resolve, 100))
  }
  return {
    url,
    process: child,
    output: () => output,
    exited,
    async kill(signal = 'SIGKILL') {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal)
      await exited
    },
  }
}

export interface ChildEmulator {
  url: string
  port: number
  output(): string
  kill(signal?: NodeJS.Signals): Promise<void>
}

/** `hubmirror emulator` in its own process: its CPU (and an attacker's seeding) is not the test runner's. */
export async function startChildEmulator(args: string[], timeoutMs = 60_000): Promise<ChildEmulator> {
  const port = await freePort()
  const child = spawn(
    process.execPath,
    ['bin/hubmirror.js', 'emulator', '--port', String(port), '--data-dir', 'none', ...args],
    { env: { ...process.env, LOG_LEVEL: 'warn' }, stdio: ['ignore', 'pipe', 'pipe'] },
  )
  let output = ''
  child.stdout.on('data', (chunk) => (output += chunk))
  child.stderr.on('data', (chunk) => (output += chunk))
  const exited = new Promise<void>((resolve) => child.once('close', () => resolve()))
  const started = Date.now()
  while (!output.includes('HubSpot emulator:')) {
    if (child.exitCode !== null || child.signalCode !== null) throw new Error(`emulator exited early:\n${output}`)
    if (Date.now() - started > timeoutMs) {
      child.kill('SIGKILL')
      throw new Error(`emulator did not start in ${timeoutMs} ms:\n${output}`)
    }
    await new Promise((resolve) => setTimeout(resolve, 100))
  }
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    output: () => output,
    async kill(signal = 'SIGTERM') {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal)
      await exited
    },
  }
}

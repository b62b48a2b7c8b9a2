// Child processes for benchmarks: servers run apart from the load generator, and are always stopped by pid.
import { spawn, type ChildProcess } from 'node:child_process'
import { readFileSync } from 'node:fs'

export { freePort } from '../../test/support/child-server.js'

export interface Child {
  name: string
  process: ChildProcess
  output(): string
  stop(): Promise<void>
}

const running = new Set<Child>()

/** Linux's USER_HZ: /proc/<pid>/stat counts CPU time in these ticks. */
const CLOCK_TICKS_PER_S = 100

/** CPU seconds (user + system) a process has used so far; NaN once it is gone. Unlike throughput,
 * CPU per operation barely moves with other work on a busy host. */
export function processCpuSeconds(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
    return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS_PER_S
  } catch {
    return Number.NaN
  }
}

export interface StartOptions {
  cwd?: string
  env?: Record<string, string | undefined>
  /** The line that says the server is up; its first capture group is returned when present */
  ready: RegExp
  timeoutMs?: number
}

export async function startChild(
  name: string,
  command: string,
  args: string[],
  options: StartOptions,
): Promise<{ child: Child; match: RegExpExecArray }> {
  const proc = spawn(command, args, {
    cwd: options.cwd,
    env: { ...options.env } as NodeJS.ProcessEnv,
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  let output = ''
  const exited = new Promise<void>((resolve) => proc.once('exit', () => resolve()))
  const child: Child = {
    name,
    process: proc,
    output: () => output,
    async stop() {
      running.delete(child)
      if (proc.exitCode !== null || proc.signalCode !== null) return
      proc.kill('SIGTERM')
      // A server that ignores SIGTERM (or hangs closing) must not keep the benchmark alive.
      const timer = setTimeout(() => proc.kill('SIGKILL'), 5_000)
      await exited
      clearTimeout(timer)
    },
  }
  running.add(child)
  const match = await new Promise<RegExpExecArray>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`${name} did not start in ${options.timeoutMs ?? 60_000} ms:\n${output}`)),
      options.timeoutMs ?? 60_000,
    )
    const onData = (chunk: Buffer) => {
      output += chunk.toString()
      // Keep only the tail: a chatty server must not grow the benchmark's memory.
      if (output.length > 200_000) output = output.slice(-100_000)
      const found = options.ready.exec(output)
      if (found) {
        clearTimeout(timer)
        resolve(found)
      }
    }
    proc.stdout!.on('data', onData)
    proc.stderr!.on('data', onData)
    proc.once('exit', (code, signal) => {
      clearTimeout(timer)
      reject(new Error(`${name} exited (${signal ?? code}) before it was ready:\n${output}`))
    })
  }).catch(async (error) => {
    await child.stop()
    throw error
  })
  return { child, match }
}

/** Stops every child still running (on success, failure or Ctrl-C). */
export async function stopAll(): Promise<void> {
  await Promise.all([...running].map((child) => child.stop()))
}

let hooked = false
export function stopChildrenOnExit(): void {
  if (hooked) return
  hooked = true
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => {
      void stopAll().finally(() => process.exit(130))
    })
  }
}

/** A child's environment: the parent's, minus whatever the benchmark must control itself. */
export function childEnv(
  overrides: Record<string, string | undefined>,
  drop: string[] = [],
): Record<string, string | undefined> {
  const env: Record<string, string | undefined> = { ...process.env }
  for (const name of drop) delete env[name]
  for (const [name, value] of Object.entries(overrides)) {
    if (value === undefined) delete env[name]
    else env[name] = value
  }
  return env
}

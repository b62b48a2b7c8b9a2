// The realtime benchmark's processes: TypeScript children with IPC, the open-files limit raised, stopped by pid.
import { spawn, type ChildProcess } from 'node:child_process'

interface Reply {
  id: number
  result?: unknown
  error?: string
}

export interface Worker {
  name: string
  pid: number
  call<T>(command: string, args?: Record<string, unknown>): Promise<T>
  stop(): Promise<void>
}

const running = new Set<Worker>()

/**
 * Each child runs under `sh -c 'ulimit -n <hard>; exec node …'`: Node cannot raise its own limit,
 * and 10k sockets need more than the usual soft limit of 1024 (check `ulimit -Hn` if this fails).
 */
export async function spawnWorker(
  name: string,
  script: string,
  nodeArgs: string[] = [],
  env: Record<string, string> = {},
  /** CPUs to pin the process to (`taskset -c`), e.g. '0'; null: wherever the scheduler puts it. */
  cpus: string | null = null,
): Promise<{ worker: Worker; hello: Record<string, unknown> }> {
  const child = spawn(
    'sh',
    [
      '-c',
      'ulimit -n "$(ulimit -Hn)" 2>/dev/null; exec "$@"',
      'sh',
      ...(cpus === null ? [] : ['taskset', '-c', cpus]),
      process.execPath,
      '--import',
      'tsx',
      ...nodeArgs,
      script,
    ],
    {
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
      serialization: 'advanced',
      env: { ...process.env, ...env },
    },
  )
  const pending = new Map<number, { resolve(value: unknown): void; reject(error: Error): void }>()
  let nextId = 1
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()))
  const hello = await new Promise<Record<string, unknown>>((resolve, reject) => {
    child.once('message', (message) => resolve(message as Record<string, unknown>))
    child.once('exit', (code) => reject(new Error(`${name} exited (${code}) before it was ready`)))
  })
  child.on('message', (message) => {
    const reply = message as Reply
    const waiter = pending.get(reply.id)
    if (!waiter) return
    pending.delete(reply.id)
    if (reply.error) waiter.reject(new Error(`${name}: ${reply.error}`))
    else waiter.resolve(reply.result)
  })
  child.once('exit', (code, signal) => {
    for (const waiter of pending.values()) waiter.reject(new Error(`${name} exited (${signal ?? code})`))
    pending.clear()
  })
  const worker: Worker = {
    name,
    pid: child.pid!,
    call: <T>(command: string, args: Record<string, unknown> = {}) =>
      new Promise<T>((resolve, reject) => {
        const id = nextId++
        pending.set(id, { resolve: resolve as (value: unknown) => void, reject })
        child.send({ id, command, ...args })
      }),
    stop: () => stopChild(worker, child, exited),
  }
  running.add(worker)
  return { worker, hello }
}

async function stopChild(worker: Worker, child: ChildProcess, exited: Promise<void>): Promise<void> {
  running.delete(worker)
  if (child.exitCode !== null || child.signalCode !== null) return
  child.kill('SIGTERM')
  const timer = setTimeout(() => child.kill('SIGKILL'), 5_000)
  await exited
  clearTimeout(timer)
}

export async function stopWorkers(): Promise<void> {
  await Promise.all([...running].map((worker) => worker.stop()))
}

/** The child side: answers the parent's calls with the named handlers. */
export function serveCommands(
  handlers: Record<string, (args: Record<string, unknown>) => unknown>,
  hello: Record<string, unknown>,
): void {
  process.on('message', async (message: { id: number; command: string } & Record<string, unknown>) => {
    try {
      const handler = handlers[message.command]
      if (!handler) throw new Error(`unknown command ${message.command}`)
      process.send!({ id: message.id, result: await handler(message) })
    } catch (error) {
      process.send!({ id: message.id, error: error instanceof Error ? (error.stack ?? error.message) : String(error) })
    }
  })
  process.on('SIGTERM', () => process.exit(0))
  process.send!(hello)
}

/** Wall-clock milliseconds with sub-millisecond resolution, comparable across processes of one host. */
export const clock = (): number => performance.timeOrigin + performance.now()

/**
 * The environment of a bench server process: its own data dir, the token secret the parent hands
 * down, quiet logs, and the parent's database when it names one; `extra` holds the run's limits.
 */
export function benchServerEnv(dataDir: string, extra: Record<string, string>): Record<string, string> {
  return {
    HUBMIRROR_DATA_DIR: dataDir,
    HUBMIRROR_JWT_SECRET: process.env.BENCH_JWT_SECRET!,
    PORT: '0',
    LOG_LEVEL: 'warn',
    ...extra,
    ...(process.env.BENCH_DATABASE_URL ? { DATABASE_URL: process.env.BENCH_DATABASE_URL } : {}),
  }
}

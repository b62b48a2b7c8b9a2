// Runs one `hubmirror` command as a person would, timing the whole process and taking its peak RSS and CPU time.
import { spawn } from 'node:child_process'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..')
/** GNU time prints the peak RSS (kB) and CPU seconds on its own line of stderr, after the command's own output. */
const TIME = '/usr/bin/time'
const RSS_MARK = 'PEAK_RSS_KB='
const CPU_MARK = 'CPU_S='

export interface CliRun {
  ms: number
  peakRssMB: number
  /** user + system CPU of the command and the child it waited for (the launcher's capped process) */
  cpuSeconds: number
  code: number | null
  signal: NodeJS.Signals | null
  stdout: string
  stderr: string
  /** the last line of stdout parsed as JSON (commands run with --json) */
  json: unknown
}

export interface CliOptions {
  env: Record<string, string | undefined>
  /** called every 250 ms while the command runs; returning true kills it with SIGKILL */
  killWhen?: () => Promise<boolean>
  /** progress lines the command writes to stderr are passed on, at most one per this many ms */
  echoEveryMs?: number
}

/**
 * BENCH_CPU_PROF=DIR writes a V8 CPU profile of each command into DIR. The heap is capped here as
 * the launcher would, so that the command runs in this process (the profile's) with no child.
 */
function profiling(): string[] {
  const dir = process.env.BENCH_CPU_PROF
  return dir ? ['--cpu-prof', `--cpu-prof-dir=${dir}`, '--max-old-space-size=160'] : []
}

export function runCli(args: string[], options: CliOptions): Promise<CliRun> {
  const started = performance.now()
  const child = spawn(
    TIME,
    ['-f', `${RSS_MARK}%M ${CPU_MARK}%U+%S`, process.execPath, ...profiling(), join(ROOT, 'bin/hubmirror.js'), ...args],
    {
      cwd: ROOT,
      env: options.env as NodeJS.ProcessEnv,
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  )
  let stdout = ''
  let stderr = ''
  let lastEcho = 0
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()))
  child.stderr.on('data', (chunk: Buffer) => {
    const text = chunk.toString()
    stderr = (stderr + text).slice(-50_000)
    const every = options.echoEveryMs ?? 0
    if (every > 0 && performance.now() - lastEcho >= every) {
      const line = text
        .split(/[\r\n]/)
        .filter((l) => l.trim() && !l.startsWith(RSS_MARK))
        .pop()
      if (line) {
        lastEcho = performance.now()
        console.log(`    … ${line.trim().slice(0, 160)}`)
      }
    }
  })
  let watching = true
  const watch = async (): Promise<void> => {
    while (watching && options.killWhen) {
      await new Promise((r) => setTimeout(r, 250))
      if (watching && (await options.killWhen().catch(() => false))) {
        // GNU time's child is the node process: kill it, not time, so that time still reports.
        const pids = await childPids(child.pid!)
        for (const pid of pids) process.kill(pid, 'SIGKILL')
        return
      }
    }
  }
  void watch()
  return new Promise((done) => {
    child.once('exit', (code) => {
      watching = false
      const ms = performance.now() - started
      const rss = /PEAK_RSS_KB=(\d+)/.exec(stderr)
      const cpu = /CPU_S=([\d.]+)\+([\d.]+)/.exec(stderr)
      const signalled = /Command terminated by signal (\d+)/.exec(stderr)
      let json: unknown = null
      const last = stdout.trim().split('\n').pop()
      try {
        json = last ? JSON.parse(last) : null
      } catch {
        json = null
      }
      done({
        ms,
        peakRssMB: rss ? Math.round(Number(rss[1]) / 1024) : Number.NaN,
        cpuSeconds: cpu ? Math.round((Number(cpu[1]) + Number(cpu[2])) * 100) / 100 : Number.NaN,
        code: signalled ? null : code,
        signal: signalled ? 'SIGKILL' : null,
        stdout,
        stderr,
        json,
      })
    })
  })
}

async function childPids(pid: number): Promise<number[]> {
  const { readFileSync } = await import('node:fs')
  try {
    return readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number)
  } catch {
    return []
  }
}

// HTTP load: wrk when installed (its report parsed), else autocannon; the same figures either way.
import autocannon from 'autocannon'
import { execFile } from 'node:child_process'
import { promisify } from 'node:util'

const run = promisify(execFile)

export interface LoadResult {
  tool: 'wrk' | 'autocannon'
  requestsPerSecond: number
  p50Ms: number
  p75Ms: number
  p90Ms: number
  p99Ms: number
  requests: number
  non2xx: number
  socketErrors: number
  raw: string
}

export interface LoadOptions {
  threads?: number
  connections?: number
  durationS: number
  headers?: Record<string, string>
}

export async function wrkAvailable(): Promise<boolean> {
  try {
    await run('wrk', ['--version'])
    return true
  } catch (error) {
    // wrk --version prints its banner (and usage) and exits 1; absent, spawn fails with ENOENT.
    return /^wrk /m.test(String((error as { stdout?: string }).stdout ?? ''))
  }
}

export async function wrk(url: string, options: LoadOptions): Promise<LoadResult> {
  const args = [
    '-t',
    String(options.threads ?? 2),
    '-c',
    String(options.connections ?? 64),
    '-d',
    `${options.durationS}s`,
    '--latency',
  ]
  for (const [name, value] of Object.entries(options.headers ?? {})) args.push('-H', `${name}: ${value}`)
  args.push(url)
  const { stdout } = await run('wrk', args, { maxBuffer: 1 << 20 })
  return parseWrk(stdout)
}

export function parseWrk(raw: string): LoadResult {
  const percentile = (p: string) => {
    const match = new RegExp(`^\\s*${p}%\\s+([\\d.]+)(us|ms|s|m)\\s*$`, 'm').exec(raw)
    if (!match) throw new Error(`wrk output has no ${p}% latency:\n${raw}`)
    return toMs(Number(match[1]), match[2]!)
  }
  const rps = /Requests\/sec:\s+([\d.]+)/.exec(raw)
  if (!rps) throw new Error(`wrk output has no Requests/sec:\n${raw}`)
  const total = /(\d+) requests in/.exec(raw)
  const non2xx = /Non-2xx or 3xx responses:\s+(\d+)/.exec(raw)
  const socket = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(raw)
  return {
    tool: 'wrk',
    requestsPerSecond: Number(rps[1]),
    p50Ms: percentile('50'),
    p75Ms: percentile('75'),
    p90Ms: percentile('90'),
    p99Ms: percentile('99'),
    requests: total ? Number(total[1]) : 0,
    non2xx: non2xx ? Number(non2xx[1]) : 0,
    socketErrors: socket ? socket.slice(1).reduce((sum, n) => sum + Number(n), 0) : 0,
    raw,
  }
}

function toMs(value: number, unit: string): number {
  switch (unit) {
    case 'us':
      return value / 1000
    case 's':
      return value * 1000
    case 'm':
      return value * 60_000
    default:
      return value
  }
}

/** wrk when present (lower overhead per request than a Node load generator), else autocannon. */
export async function loadTest(url: string, options: LoadOptions): Promise<LoadResult> {
  if (await wrkAvailable()) return wrk(url, options)
  const result = await autocannon({
    url,
    connections: options.connections ?? 64,
    duration: options.durationS,
    headers: options.headers,
  })
  return {
    tool: 'autocannon',
    requestsPerSecond: result.requests.average,
    p50Ms: result.latency.p50,
    p75Ms: Number.NaN,
    p90Ms: Number.NaN,
    p99Ms: result.latency.p99,
    requests: result['2xx'] + result.non2xx,
    non2xx: result.non2xx,
    socketErrors: result.errors + result.timeouts,
    raw: '',
  }
}

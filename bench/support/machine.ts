// What every benchmark records about the machine it ran on, so figures from different hosts are never compared blind.
import { execFileSync } from 'node:child_process'
import { cpus, loadavg, totalmem } from 'node:os'

export interface MachineInfo {
  cpu: string
  cores: number
  totalMemoryGiB: number
  node: string
  date: string
  /** `uptime` output: other work on this host depresses the figures, so it is part of the result */
  uptime: string
  loadavg: number[]
}

export function machineInfo(): MachineInfo {
  const list = cpus()
  return {
    cpu: list[0]?.model ?? 'unknown',
    cores: list.length,
    totalMemoryGiB: Math.round((totalmem() / 2 ** 30) * 10) / 10,
    node: process.version,
    date: new Date().toISOString(),
    uptime: uptimeLine(),
    loadavg: loadavg().map((n) => Math.round(n * 100) / 100),
  }
}

export function uptimeLine(): string {
  try {
    return execFileSync('uptime', { encoding: 'utf8' }).trim()
  } catch {
    return `load average: ${loadavg()
      .map((n) => n.toFixed(2))
      .join(', ')}`
  }
}

export function machineLine(m: MachineInfo): string {
  return `${m.cpu}, ${m.cores} cores, ${m.totalMemoryGiB} GiB, Node ${m.node}, ${m.date}`
}

export function round(n: number, places = 2): number {
  const f = 10 ** places
  return Math.round(n * f) / f
}

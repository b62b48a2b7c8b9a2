// CPU seconds of Postgres's processes, read from /proc by pid: what a benchmark's database work cost.
import type pg from 'pg'
import { processCpuSeconds } from './processes.js'

/**
 * CPU seconds so far by pid: of the backends connected to `database`, or, when it is null, of every
 * Postgres process (background ones too: the WAL writer's work is the writes' cost).
 */
export async function postgresCpu(admin: pg.Client, database: string | null): Promise<Map<number, number>> {
  const { rows } = database
    ? await admin.query<{ pid: number }>('SELECT pid FROM pg_stat_activity WHERE datname = $1', [database])
    : await admin.query<{ pid: number }>('SELECT pid FROM pg_stat_activity')
  return new Map(rows.map(({ pid }) => [pid, processCpuSeconds(pid)]))
}

/**
 * CPU used between two samples, by the processes in the second: one gone by then adds nothing (what it
 * used after the first sample is not seen), where subtracting its first sample would count it negative.
 */
export function postgresCpuDelta(before: Map<number, number>, after: Map<number, number>): number {
  let total = 0
  for (const [pid, cpu] of after) if (Number.isFinite(cpu)) total += cpu - (before.get(pid) ?? 0)
  return total
}

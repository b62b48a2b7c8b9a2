// Load profiles for the resilience suite: `short` for CI, `full` for the figures in docs/RELIABILITY.md.

export const profile = process.env.RESILIENCE_PROFILE === 'full' ? 'full' : 'short'
const full = profile === 'full'

export const load = {
  badInputRequests: full ? 20_000 : 10_000,
  /** Concurrent booking writes through kill -9 restarts, and how many kills. */
  crashWrites: full ? 1_000 : 200,
  crashKills: full ? 5 : 3,
  /** Mixed reads and writes while Redis is down, and again after it is back. */
  redisOps: full ? 1_500 : 300,
  /** Reads and refused writes while Postgres is down, and writes after it is back. */
  postgresOps: full ? 1_000 : 200,
  /** Writes per HubSpot fault phase (429 storm, 5xx, timeouts, latency, all at once). */
  faultWrites: full ? 200 : 40,
  /** Mixed operations across three instances. */
  clusterOps: full ? 10_000 : 2_000,
  /** Random conflicting writes on two instances (test/resilience/interleavings.test.ts). */
  interleavingOps: Number(process.env.RESILIENCE_INTERLEAVING_OPS ?? (full ? 10_000 : 600)),
  /** Abuse suite: the background load's unloaded phase, and the least time it runs under attack (rounds repeat). */
  abuseUnloadedMs: full ? 60_000 : 20_000,
  abuseAttackMs: full ? 60_000 : 20_000,
}

// Emulator route counts summed over both HubSpot path families, so a figure holds whichever HUBSPOT_API_VERSION ran.

/** `statKey` is the legacy spelling, e.g. `GET /crm/v3/objects/:type`. */
export function routeCount(byRoute: Record<string, number>, statKey: string): number {
  const dated = statKey.replace('/crm/v3/objects/', '/crm/objects/2026-03/')
  return (byRoute[statKey] ?? 0) + (dated === statKey ? 0 : (byRoute[dated] ?? 0))
}

/** What the emulator's `/_emulator/stats` answers: calls in all, by route and by status. */
export interface EmulatorStats {
  total: number
  byRoute: Record<string, number>
  byStatus: Record<string, number>
}

/** The emulator's flags for a bench: no data dir, seeded, and the given limits (per 10 s, search per s, daily). */
export function emulatorFlags(seed: number, limits: { per10s: number; searchPerS: number; daily?: number }): string[] {
  return [
    '--port',
    '0',
    '--data-dir',
    'none',
    '--seed',
    String(seed),
    '--rate-limit-10s',
    String(limits.per10s),
    '--search-rate-s',
    String(limits.searchPerS),
    ...(limits.daily === undefined ? [] : ['--daily-limit', String(limits.daily)]),
  ]
}

// Emulator route counts summed over both HubSpot path families, so a figure holds whichever HUBSPOT_API_VERSION ran.

/** `statKey` is the legacy spelling, e.g. `GET /crm/v3/objects/:type`. */
export function routeCount(byRoute: Record<string, number>, statKey: string): number {
  const dated = statKey.replace('/crm/v3/objects/', '/crm/objects/2026-03/')
  return (byRoute[statKey] ?? 0) + (dated === statKey ? 0 : (byRoute[dated] ?? 0))
}

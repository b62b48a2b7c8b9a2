// HubSpot's path families: every client path is built here from the configured API version.
import type { HubSpotApiVersion } from '../config/index.js'

/**
 * `2026-03` (GA 2026-03-30) puts the version after the API name: `/crm/objects/2026-03/{type}`,
 * `/crm-object-schemas/2026-03/schemas`. `v3` is the legacy family, unsupported from September 2027.
 * Sources: https://developers.hubspot.com/docs/api-reference/2026-03/overview ,
 * https://developers.hubspot.com/docs/api-reference/latest/crm/objects/schemas/guide
 */
export interface HubSpotPaths {
  readonly version: HubSpotApiVersion
  /** `/crm/…/objects/{type}`, the list and create path; the rest hang below it. */
  objects(type: string): string
  object(type: string, id: string): string
  batch(type: string, operation: 'read' | 'create' | 'update' | 'upsert' | 'archive'): string
  search(type: string): string
  schemas(): string
}

export function hubspotPaths(version: HubSpotApiVersion): HubSpotPaths {
  const objects = (type: string) =>
    version === 'v3'
      ? `/crm/v3/objects/${encodeURIComponent(type)}`
      : `/crm/objects/2026-03/${encodeURIComponent(type)}`
  return {
    version,
    objects,
    object: (type, id) => `${objects(type)}/${encodeURIComponent(id)}`,
    batch: (type, operation) => `${objects(type)}/batch/${operation}`,
    search: (type) => `${objects(type)}/search`,
    schemas: () => (version === 'v3' ? '/crm/v3/schemas' : '/crm-object-schemas/2026-03/schemas'),
  }
}

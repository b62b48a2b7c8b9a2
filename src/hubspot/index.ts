// The HubSpot part's public face: a client with the right budget for the config, and the object type ids.
import type { Config } from '../config/index.js'
import { createLocalBudget, type RateBudget } from './budget.js'
import { createRedisBudget } from './budget-redis.js'
import { HubSpotClient, type RetryPolicy } from './client.js'
import { CrmObjects } from './crm.js'
import { hubspotPaths } from './paths.js'
import { prioritized, type PriorityStats } from './priority.js'

export * from './budget.js'
export * from './client.js'
export * from './crm.js'
export { holdSlot, type HeldSlot } from './held-slot.js'
export * from './limits.js'
export * from './mapping.js'
export * from './paths.js'
export * from './probe.js'
export { PRIORITIES, withPriority, type Priority, type PriorityStats } from './priority.js'

export interface ObjectTypes {
  exams: string
  bookings: string
}

export interface HubSpot {
  client: HubSpotClient
  crm: CrmObjects
  /** The custom objects' `2-…` ids: configured, or resolved once through the schemas endpoint. */
  objectTypes(): Promise<ObjectTypes>
  /** The budget's queues by priority (writes, on-demand, background, bulk): waiting, granted, waited. */
  priorities(): PriorityStats
  close(): Promise<void>
}

export interface HubSpotSettings {
  baseUrl: string
  accessToken: string
  retry?: Partial<RetryPolicy>
  onRateLimited?: (policy: string) => void
  /** Redis is unreachable: this instance spends only its share of the budget (called per request). */
  onBudgetFallback?: (error: unknown) => void
}

export function createHubSpot(
  config: Pick<Config, 'hubspot' | 'redisUrl' | 'redisNamespace'>,
  settings: HubSpotSettings,
): HubSpot {
  const limits = {
    burstPer10s: config.hubspot.rateLimit10s,
    searchPerSecond: config.hubspot.searchRatePerSecond,
    daily: config.hubspot.dailyLimit,
  }
  const shared: RateBudget = config.redisUrl
    ? createRedisBudget({
        url: config.redisUrl,
        namespace: config.redisNamespace,
        limits,
        onFallback: settings.onBudgetFallback,
      })
    : createLocalBudget(limits)
  // Priorities are a layer in front: the window below decides how many, this decides who goes first.
  const budget = prioritized(shared)
  const client = new HubSpotClient({
    baseUrl: settings.baseUrl,
    accessToken: settings.accessToken,
    budget,
    retry: settings.retry,
    onRateLimited: settings.onRateLimited,
  })
  const crm = new CrmObjects(client, hubspotPaths(config.hubspot.apiVersion))
  let types: Promise<ObjectTypes> | null = null

  /**
   * HubSpot takes `2-<id>` as is; `p_<name>` and fully-qualified `p<portal>_<name>` are resolved to
   * their `2-…` id once, through the schemas endpoint, so every later path and stat uses one spelling.
   */
  async function lookUpTypes(): Promise<ObjectTypes> {
    const configured = { exams: config.hubspot.mockExamsObject, bookings: config.hubspot.bookingsObject }
    if (isTypeId(configured.exams) && isTypeId(configured.bookings)) return configured as ObjectTypes
    const schemas = await crm.schemas()
    const exams = resolveObjectType(schemas, configured.exams, 'mock_exams', 'HUBSPOT_MOCK_EXAMS_OBJECT')
    const bookings = resolveObjectType(schemas, configured.bookings, 'bookings', 'HUBSPOT_BOOKINGS_OBJECT')
    return { exams, bookings }
  }

  return {
    client,
    crm,
    objectTypes() {
      // A failed lookup is retried on the next call rather than cached.
      types ??= lookUpTypes().catch((error) => {
        types = null
        throw error
      })
      return types
    },
    priorities: () => budget.priorityStats(),
    close: () => budget.close(),
  }
}

interface SchemaSummary {
  name: string
  objectTypeId: string
  fullyQualifiedName?: string
}

const isTypeId = (ref: string | null): boolean => ref !== null && /^2-\d+$/.test(ref)

/** Finds the `2-…` id for a configured reference, or (unset) for the object named `name`. */
export function resolveObjectType(
  schemas: SchemaSummary[],
  ref: string | null,
  name: string,
  variable: string,
): string {
  if (ref !== null && isTypeId(ref)) return ref
  const match =
    ref === null
      ? schemas.find((s) => s.name === name || s.fullyQualifiedName?.endsWith(`_${name}`))
      : ref.startsWith('p_')
        ? schemas.find((s) => s.name === ref.slice(2))
        : schemas.find((s) => s.fullyQualifiedName === ref)
  if (!match)
    throw new Error(
      ref === null
        ? `HubSpot has no ${name} custom object: set ${variable} (2-<id>, p_<name> or the fully-qualified name)`
        : `${variable}: HubSpot has no custom object "${ref}" (its schemas list ${schemas.map((s) => s.fullyQualifiedName ?? s.name).join(', ') || 'none'})`,
    )
  return match.objectTypeId
}

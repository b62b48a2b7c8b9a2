// The HubSpot part's public face: a client with the right budget for the config, and the object type ids.
import type { Config } from '../config/index.js'
import { createLocalBudget, type RateBudget } from './budget.js'
import { createRedisBudget } from './budget-redis.js'
import { HubSpotClient, type RetryPolicy } from './client.js'
import { CrmObjects } from './crm.js'

export * from './budget.js'
export * from './client.js'
export * from './crm.js'
export * from './limits.js'
export * from './mapping.js'

export interface ObjectTypes {
  exams: string
  bookings: string
}

export interface HubSpot {
  client: HubSpotClient
  crm: CrmObjects
  /** The custom object type ids, from the config or looked up once in /crm/v3/schemas. */
  objectTypes(): Promise<ObjectTypes>
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
  const budget: RateBudget = config.redisUrl
    ? createRedisBudget({
        url: config.redisUrl,
        namespace: config.redisNamespace,
        limits,
        onFallback: settings.onBudgetFallback,
      })
    : createLocalBudget(limits)
  const client = new HubSpotClient({
    baseUrl: settings.baseUrl,
    accessToken: settings.accessToken,
    budget,
    retry: settings.retry,
    onRateLimited: settings.onRateLimited,
  })
  const crm = new CrmObjects(client)
  let types: Promise<ObjectTypes> | null = null

  async function lookUpTypes(): Promise<ObjectTypes> {
    const configured = { exams: config.hubspot.mockExamsObject, bookings: config.hubspot.bookingsObject }
    if (configured.exams && configured.bookings) return configured as ObjectTypes
    const schemas = await crm.schemas()
    const find = (name: string) =>
      schemas.find((s) => s.name === name || s.fullyQualifiedName?.endsWith(`_${name}`))?.objectTypeId
    const exams = configured.exams ?? find('mock_exams')
    const bookings = configured.bookings ?? find('bookings')
    if (!exams || !bookings)
      throw new Error(
        'HubSpot has no mock_exams/bookings custom objects: set HUBSPOT_MOCK_EXAMS_OBJECT and HUBSPOT_BOOKINGS_OBJECT',
      )
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
    close: () => budget.close(),
  }
}

// A process of its own spending HubSpot calls through hubmirror's budget (shared through Redis when REDIS_URL is set), for cross-process budget tests.
import { createHubSpot } from '../../src/hubspot/index.js'
import { testConfig } from './env.js'

const url = process.env.CALLER_URL
const namespace = process.env.CALLER_NAMESPACE
const calls = Number(process.env.CALLER_CALLS ?? 1)
if (!url || !namespace) throw new Error('CALLER_URL and CALLER_NAMESPACE are required')

const hubspot = createHubSpot(testConfig({ redisNamespace: namespace }), { baseUrl: url, accessToken: 'x' })
// What it starts from: 'probing', or what another process wrote to Redis.
const startedAs = (await hubspot.client.budget.usage()).limit_state
const started = Date.now()
await Promise.all(Array.from({ length: calls }, () => hubspot.crm.listPage('2-50001', { properties: [], limit: 1 })))
const ms = Date.now() - started
const usage = await hubspot.client.budget.usage()
console.log(JSON.stringify({ startedAs, ms, rateLimited: hubspot.client.stats.rateLimited, usage }))
await hubspot.close()

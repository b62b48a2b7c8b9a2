// Prometheus metrics: the registry every part reports into, and per-route HTTP timings.
import type { FastifyInstance } from 'fastify'
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client'

export function createMetricsRegistry(): Registry {
  const registry = new Registry()
  collectDefaultMetrics({ register: registry, prefix: 'hubmirror_' })
  return registry
}

/** A gauge whose value is read at scrape time, so hot paths only bump plain counters. */
export function gaugeFrom(
  registry: Registry,
  name: string,
  help: string,
  read: () => number | Record<string, number>,
  label = 'kind',
): void {
  const gauge = new Gauge({
    name,
    help,
    labelNames: [label],
    registers: [registry],
    collect() {
      const value = read()
      if (typeof value === 'number') this.set(value)
      else for (const [key, v] of Object.entries(value)) this.set({ [label]: key }, v)
    },
  })
  void gauge
}

/** A counter kept as plain numbers elsewhere and read at scrape time, with its own labels. */
export function counterFrom<L extends string>(
  registry: Registry,
  name: string,
  help: string,
  labelNames: readonly L[],
  read: () => Array<[Record<L, string>, number]>,
): void {
  const counter = new Counter({
    name,
    help,
    labelNames,
    registers: [registry],
    collect() {
      this.reset()
      for (const [labels, value] of read()) this.inc(labels, value)
    },
  })
  void counter
}

/**
 * Per-route timings, and `GET /metrics` on the main port behind `metrics.read` (it tells routes,
 * statuses and HubSpot budget use). With `onMainPort` false the scrape is served by the separate
 * listener (metrics-listener.ts) and the main port has no /metrics at all.
 */
export function registerHttpMetrics(app: FastifyInstance, registry: Registry, onMainPort = true): void {
  const duration = new Histogram({
    name: 'hubmirror_http_request_duration_seconds',
    help: 'HTTP request duration by route and status',
    labelNames: ['method', 'route', 'status'],
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
    registers: [registry],
  })
  const errors = new Counter({
    name: 'hubmirror_http_errors_total',
    help: 'HTTP responses with status >= 500',
    labelNames: ['route'],
    registers: [registry],
  })
  app.addHook('onResponse', async (request, reply) => {
    const route = request.routeOptions.url ?? 'unmatched'
    duration.observe({ method: request.method, route, status: reply.statusCode }, reply.elapsedTime / 1000)
    if (reply.statusCode >= 500) errors.inc({ route })
  })
  if (!onMainPort) return
  app.get('/metrics', { config: { permission: 'metrics.read' }, schema: { hide: true } }, async (_request, reply) =>
    reply.type(registry.contentType).send(await registry.metrics()),
  )
}

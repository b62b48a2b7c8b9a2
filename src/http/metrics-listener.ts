// GET /metrics on its own address (HUBMIRROR_METRICS_HOST/PORT), unauthenticated there, as Prometheus scrapes expect.
import { createServer, type Server } from 'node:http'
import type { Registry } from 'prom-client'

export interface MetricsListener {
  /** e.g. http://127.0.0.1:9464 */
  url: string
  close(): Promise<void>
}

/** A scrape is answered in well under this; a client that holds the socket longer is cut off. */
const REQUEST_TIMEOUT_MS = 10_000
/** Prometheus keeps one connection per target; a few more leave room for a person with curl. */
const MAX_CONNECTIONS = 16

/**
 * A plain node:http server with one route: the address is the access control (a private
 * interface, a firewall, a Kubernetes pod port), so there is nothing here a token could guard.
 */
export async function startMetricsListener(
  registry: Registry,
  address: { host: string; port: number },
): Promise<MetricsListener> {
  const server: Server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0]
    if (path !== '/metrics') {
      res
        .writeHead(404, { 'content-type': 'text/plain; charset=utf-8' })
        .end('not found: this listener serves /metrics only\n')
      return
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res
        .writeHead(405, { allow: 'GET, HEAD', 'content-type': 'text/plain; charset=utf-8' })
        .end('method not allowed\n')
      return
    }
    registry.metrics().then(
      (text) => {
        res.writeHead(200, { 'content-type': registry.contentType })
        res.end(req.method === 'HEAD' ? undefined : text)
      },
      () => res.writeHead(500, { 'content-type': 'text/plain; charset=utf-8' }).end('metrics collection failed\n'),
    )
  })
  server.requestTimeout = REQUEST_TIMEOUT_MS
  server.headersTimeout = REQUEST_TIMEOUT_MS
  server.maxConnections = MAX_CONNECTIONS
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(address.port, address.host, () => {
      server.off('error', reject)
      resolve()
    })
  })
  const bound = server.address()
  const port = typeof bound === 'object' && bound ? bound.port : address.port
  const host = address.host.includes(':') ? `[${address.host}]` : address.host
  return {
    url: `http://${host}:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections()
        server.close(() => resolve())
      }),
  }
}

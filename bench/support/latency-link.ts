// A TCP relay that holds every chunk for a one-way delay, both ways: a database as far away as a hosted one, on loopback.
import net from 'node:net'

export interface LatencyLink {
  port: number
  /** Chunks the clients sent since the last reset: a statement and its reply cost one round trip each. */
  clientChunks(): number
  reset(): void
  close(): Promise<void>
}

/**
 * Each chunk is written to the other side `oneWayMs` after it arrived, in order (one timer per
 * chunk, and Node's timers of one delay fire in the order they were set), so a round trip costs
 * twice the delay plus what the two ends spend, as over a real link.
 */
export async function latencyLink(targetPort: number, oneWayMs: number): Promise<LatencyLink> {
  let chunks = 0
  const sockets = new Set<net.Socket>()
  const relay = (from: net.Socket, to: net.Socket, counted: boolean) => {
    from.on('data', (data) => {
      if (counted) chunks++
      setTimeout(() => to.writable && to.write(data), oneWayMs)
    })
    from.on('end', () => setTimeout(() => to.end(), oneWayMs))
    from.on('error', () => to.destroy())
  }
  const server = net.createServer((client) => {
    const upstream = net.connect(targetPort, '127.0.0.1')
    for (const socket of [client, upstream]) {
      sockets.add(socket)
      socket.on('close', () => sockets.delete(socket))
    }
    relay(client, upstream, true)
    relay(upstream, client, false)
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  return {
    port: (server.address() as net.AddressInfo).port,
    clientChunks: () => chunks,
    reset: () => (chunks = 0),
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy()
        server.close(() => resolve())
      }),
  }
}

/** `url` with its host and port replaced by the link's: the same database, reached through the relay. */
export function throughLink(url: string, link: LatencyLink): string {
  const through = new URL(url)
  through.hostname = '127.0.0.1'
  through.port = String(link.port)
  return through.toString()
}

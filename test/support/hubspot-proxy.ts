// A pass-through proxy in front of the emulator: records every call, and lets a test act between HubSpot applying a call and the caller hearing of it.
import { createServer, type IncomingMessage, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'

export interface ProxiedCall {
  method: string
  path: string
  status: number
  startedAt: number
  endedAt: number
}

export interface HubSpotProxy {
  url: string
  calls: ProxiedCall[]
  /**
   * Runs after HubSpot answered and before the answer is passed on: a test that kills the caller
   * here makes the classic crash, "HubSpot applied it, the server never knew".
   */
  beforeReply: ((call: ProxiedCall) => Promise<void> | void) | null
  /** Calls whose caller went away before the answer was passed on (it gave up waiting, e.g. on a held reply). */
  abandoned: number
  close(): Promise<void>
}

const readBody = (req: IncomingMessage) =>
  new Promise<Buffer>((resolve, reject) => {
    const chunks: Buffer[] = []
    req.on('data', (chunk: Buffer) => chunks.push(chunk))
    req.on('end', () => resolve(Buffer.concat(chunks)))
    req.on('error', reject)
  })

export async function startHubSpotProxy(targetUrl: string): Promise<HubSpotProxy> {
  const proxy: HubSpotProxy = {
    url: '',
    calls: [],
    beforeReply: null,
    abandoned: 0,
    close: async () => {
      server.closeAllConnections()
      await new Promise<void>((resolve) => server.close(() => resolve()))
    },
  }
  const server: Server = createServer(async (req, res) => {
    const startedAt = Date.now()
    let replied = false
    res.on('close', () => {
      if (!replied) proxy.abandoned += 1
    })
    try {
      const body = await readBody(req)
      const headers: Record<string, string> = {}
      for (const name of ['authorization', 'content-type', 'accept'])
        if (typeof req.headers[name] === 'string') headers[name] = req.headers[name] as string
      const answer = await fetch(targetUrl + (req.url ?? '/'), {
        method: req.method,
        headers,
        body: body.length > 0 ? new Uint8Array(body) : undefined,
      })
      const text = Buffer.from(await answer.arrayBuffer())
      const call: ProxiedCall = {
        method: req.method ?? 'GET',
        path: (req.url ?? '/').split('?')[0],
        status: answer.status,
        startedAt,
        endedAt: Date.now(),
      }
      proxy.calls.push(call)
      await proxy.beforeReply?.(call)
      const out: Record<string, string> = {}
      answer.headers.forEach((value, name) => {
        if (!['content-length', 'transfer-encoding', 'connection', 'keep-alive', 'content-encoding'].includes(name))
          out[name] = value
      })
      replied = !res.destroyed
      if (!res.destroyed) res.writeHead(answer.status, { ...out, 'content-length': String(text.length) }).end(text)
    } catch {
      // The caller went away, or the emulator dropped the connection (an injected timeout): do the same.
      res.destroy()
    }
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()))
  proxy.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
  return proxy
}

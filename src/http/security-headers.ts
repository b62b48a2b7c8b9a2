// Response headers every page and API answer carries: a strict CSP, no sniffing, no framing, no referrers.
import type { FastifyInstance } from 'fastify'

/**
 * No inline scripts anywhere: the Vite build emits only external module scripts, and swagger-ui's
 * page (/docs) loads its initializer from a file. Styles allow 'unsafe-inline' because React's
 * style props and swagger-ui set style attributes; they cannot run code. `connect-src 'self'`
 * covers fetch, EventSource and same-origin WebSockets in current browsers.
 */
export const CONTENT_SECURITY_POLICY = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self' 'unsafe-inline'",
  "img-src 'self' data:",
  "font-src 'self' data:",
  "connect-src 'self'",
  "object-src 'none'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join('; ')

export const SECURITY_HEADERS: Readonly<Record<string, string>> = {
  'content-security-policy': CONTENT_SECURITY_POLICY,
  'x-content-type-options': 'nosniff',
  // For browsers that predate frame-ancestors.
  'x-frame-options': 'DENY',
  // The sign-in link carries the token in the fragment, which is never sent; the path is nobody's business either.
  'referrer-policy': 'no-referrer',
  'cross-origin-opener-policy': 'same-origin',
}

export function registerSecurityHeaders(app: FastifyInstance): void {
  app.addHook('onSend', async (_request, reply, payload) => {
    for (const [name, value] of Object.entries(SECURITY_HEADERS)) if (!reply.hasHeader(name)) reply.header(name, value)
    return payload
  })
}

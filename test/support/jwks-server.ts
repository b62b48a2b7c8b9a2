// A local OIDC-style issuer for tests: a JWKS endpoint over keys made in the test, and a signer.
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { exportJWK, generateKeyPair, SignJWT, type CryptoKey, type JWK, type JWTPayload } from 'jose'

export interface TestKey {
  kid: string
  alg: 'ES256' | 'RS256' | 'EdDSA'
  privateKey: CryptoKey
  jwk: JWK
}

export async function makeKey(
  alg: TestKey['alg'],
  kid = `${alg.toLowerCase()}-${Math.random().toString(36).slice(2, 8)}`,
): Promise<TestKey> {
  const { privateKey, publicKey } = await generateKeyPair(alg, { extractable: true })
  const jwk = { ...(await exportJWK(publicKey)), kid, alg, use: 'sig', key_ops: ['verify'] }
  return { kid, alg, privateKey, jwk }
}

export interface JwksServer {
  /** What SUPABASE_URL would be: the JWKS is at `${url}/auth/v1/.well-known/jwks.json`. */
  url: string
  issuer: string
  /** Keys served right now (Supabase's "in use", "standby" and "previously used"). */
  keys: TestKey[]
  /** JWKS requests served so far. */
  requests(): number
  stop(): Promise<void>
  /** Signs a Supabase-style access token; `claims` override or (undefined) remove the defaults. */
  sign(key: TestKey, claims?: Record<string, unknown>, header?: Record<string, unknown>): Promise<string>
}

export async function startJwksServer(initial: TestKey[]): Promise<JwksServer> {
  let served = 0
  const keys = [...initial]
  const server: Server = createServer((req, res) => {
    if (req.url !== '/auth/v1/.well-known/jwks.json') {
      res.writeHead(404).end()
      return
    }
    served++
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ keys: keys.map((k) => k.jwk) }))
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
  const issuer = `${url}/auth/v1`
  let stopped = false
  return {
    url,
    issuer,
    keys,
    requests: () => served,
    stop: async () => {
      if (stopped) return
      stopped = true
      server.closeAllConnections()
      await new Promise<void>((resolve) => server.close(() => resolve()))
    },
    async sign(key, claims = {}, header = {}) {
      const now = Math.floor(Date.now() / 1000)
      const payload: JWTPayload = {
        iss: issuer,
        aud: 'authenticated',
        sub: 'a6f4c1d2-user',
        role: 'authenticated',
        iat: now,
        exp: now + 3600,
        app_metadata: { provider: 'email', permissions: ['exams.view'] },
        ...claims,
      }
      for (const [name, value] of Object.entries(payload)) if (value === undefined) delete payload[name]
      return new SignJWT(payload)
        .setProtectedHeader({ alg: key.alg, kid: key.kid, typ: 'JWT', ...header })
        .sign(key.privateKey)
    },
  }
}

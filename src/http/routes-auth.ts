// POST /api/auth/exchange: the dashboard trades the one-time code of the printed sign-in link for a session token.
import type { FastifyInstance } from 'fastify'
import type { ZodTypeProvider } from 'fastify-type-provider-zod'
import { AppError } from '../errors.js'
import { authResponses, exchangeRequest } from '../model/contract/auth.js'
import { issueToken, PERMISSIONS } from './jwt.js'
import type { RedeemResult, SignInCodes } from './sign-in-codes.js'

/** What the link's holder gets: the dashboard keeps it in the browser, never in a log. */
const SESSION_TTL_SECONDS = 7 * 86_400

const REFUSED: Record<Exclude<RedeemResult, 'ok'>, string> = {
  used: 'this sign-in link was already used; each link signs in once',
  expired: 'this sign-in link has expired (links last 10 minutes)',
  unknown: 'this sign-in link is not valid here (the server may have restarted since it was printed)',
}
const AGAIN = 'restart `hubmirror serve` in a terminal for a new link, or sign in with `npx hubmirror token`'

export function registerAuthRoutes(root: FastifyInstance, codes: SignInCodes, jwtSecret: string): void {
  const app = root.withTypeProvider<ZodTypeProvider>()
  app.post(
    '/api/auth/exchange',
    {
      // The code is the credential: there is no bearer yet.
      config: { public: true },
      schema: {
        tags: ['auth'],
        summary: 'Exchange the one-time code of a sign-in link for a bearer token (once; the code lasts 10 minutes)',
        security: [],
        body: exchangeRequest,
        response: authResponses.exchange,
      },
    },
    async (request) => {
      const result = codes.redeem(request.body.code)
      if (result !== 'ok')
        throw new AppError('E_SIGN_IN_CODE_REFUSED', `${REFUSED[result]}: ${AGAIN}`, { field: 'code' })
      const expiresAt = Math.floor(Date.now() / 1000) + SESSION_TTL_SECONDS
      return {
        success: true as const,
        token: issueToken(jwtSecret, PERMISSIONS, { subject: 'admin', ttlSeconds: SESSION_TTL_SECONDS }),
        expires_at: new Date(expiresAt * 1000).toISOString(),
      }
    },
  )
}

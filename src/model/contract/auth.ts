// The HTTP contract of signing in: a one-time code from the printed link exchanged for a bearer token.
import { z } from 'zod'
import { errorResponses, success } from './common.js'

export const exchangeRequest = z.object({
  code: z
    .string()
    .regex(/^[\w-]{16,128}$/, 'must be the code from a sign-in link (letters, digits, - and _)')
    .meta({ description: 'the `#code=` part of the link `hubmirror serve` printed' }),
})

export const exchangeBody = success({
  token: z.string().meta({ description: 'a bearer token (JWT) with every permission, for the dashboard to keep' }),
  expires_at: z.string().meta({ description: 'when the token expires (ISO 8601)' }),
}).meta({ id: 'SignInExchange' })

export const authResponses = { exchange: { 200: exchangeBody, ...errorResponses } } as const

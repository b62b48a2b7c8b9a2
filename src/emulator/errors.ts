// HubSpot's error bodies: one thrown type that the server turns into the exact JSON HubSpot sends.
import { randomUUID } from 'node:crypto'

export interface ErrorDetail {
  message: string
  code?: string
  in?: string
  subCategory?: string
  context?: Record<string, string[]>
}

export class HsError extends Error {
  constructor(
    public readonly status: number,
    public readonly category: string | null,
    message: string,
    public readonly extra: Record<string, unknown> = {},
  ) {
    super(message)
  }

  body(): Record<string, unknown> {
    const body: Record<string, unknown> = { status: 'error', message: this.message, correlationId: randomUUID() }
    if (this.category) body.category = this.category
    return Object.assign(body, this.extra)
  }
}

export function validationError(message: string, errors?: ErrorDetail[], extra: Record<string, unknown> = {}): HsError {
  return new HsError(400, 'VALIDATION_ERROR', message, errors ? { errors, ...extra } : extra)
}

/** A rejected property value, with HubSpot's legacy JSON-in-the-message form as well as `errors[]`. */
export interface PropertyProblem {
  name: string
  code: string
  message: string
}

export function propertyError(problems: PropertyProblem[]): HsError {
  const legacy = problems.map((p) => ({
    isValid: false,
    message: p.message,
    error: p.code,
    name: p.name,
    localizedErrorMessage: p.message,
  }))
  const errors = problems.map((p) => ({ message: p.message, code: p.code, context: { propertyName: [p.name] } }))
  return validationError(`Property values were not valid: ${JSON.stringify(legacy)}`, errors)
}

export function notFound(id: string): HsError {
  return new HsError(404, 'OBJECT_NOT_FOUND', 'Object not found.  objectId are usually numeric.', {
    context: { id: [id] },
  })
}

export function resourceNotFound(): HsError {
  return new HsError(404, null, 'resource not found')
}

export function conflict(message: string, existingId: string): HsError {
  return new HsError(409, 'CONFLICT', message, {
    errors: [{ message, code: 'OBJECT_ALREADY_EXISTS', context: { id: [existingId] } }],
  })
}

export function unauthorized(): HsError {
  return new HsError(
    401,
    'INVALID_AUTHENTICATION',
    'Authentication credentials not found. This API supports OAuth 2.0 authentication and you can find more details at https://developers.hubspot.com/docs/methods/auth/oauth-overview',
  )
}

export type RatePolicy = 'DAILY' | 'TEN_SECONDLY_ROLLING' | 'SECONDLY'

const RATE_MESSAGES: Record<RatePolicy, string> = {
  DAILY: 'You have reached your daily limit.',
  TEN_SECONDLY_ROLLING: 'You have reached your ten_secondly_rolling limit.',
  SECONDLY: 'You have reached your secondly limit.',
}

export function rateLimitBody(policy: RatePolicy, portalId: number): Record<string, unknown> {
  const body: Record<string, unknown> = {
    status: 'error',
    message: RATE_MESSAGES[policy],
    errorType: 'RATE_LIMIT',
    correlationId: randomUUID(),
    policyName: policy,
    requestId: randomUUID(),
  }
  if (policy === 'TEN_SECONDLY_ROLLING') {
    body.groupName = `publicapi:private_app-api-calls-ten-secondly:1:${portalId}`
  }
  return body
}

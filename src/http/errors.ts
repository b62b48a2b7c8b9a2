// Turns anything thrown while handling a request into the error envelope; no stack reaches a client.
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify'
import { hasZodFastifySchemaValidationErrors } from 'fastify-type-provider-zod'
import { AppError, errorBody, isAppError } from '../errors.js'
import { isConnectionError } from '../replica/index.js'

/** Fastify's own error codes that mean the request itself was bad. */
const FASTIFY_CLIENT_ERRORS: Record<string, () => AppError> = {
  FST_ERR_CTP_BODY_TOO_LARGE: () => new AppError('E_BODY_TOO_LARGE', 'request body is too large'),
  FST_ERR_CTP_INVALID_MEDIA_TYPE: () =>
    new AppError('E_UNSUPPORTED_MEDIA_TYPE', 'content-type must be application/json'),
  FST_ERR_CTP_INVALID_JSON_BODY: () => new AppError('E_VALIDATION', 'body is not valid JSON', { field: 'body' }),
  FST_ERR_CTP_EMPTY_JSON_BODY: () => new AppError('E_VALIDATION', 'body must not be empty', { field: 'body' }),
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: () =>
    new AppError('E_VALIDATION', 'content-length does not match the body', { field: 'body' }),
}

export function toAppError(error: unknown): AppError {
  if (isAppError(error)) return error
  if (hasZodFastifySchemaValidationErrors(error)) {
    const context = (error as { validationContext?: string }).validationContext ?? 'body'
    const issue = error.validation[0]
    const path = issue.instancePath.replace(/^\//, '').replaceAll('/', '.')
    const field = path || context
    return new AppError('E_VALIDATION', `${field}: ${issue.message}`, { field, details: { in: context } })
  }
  const code = (error as FastifyError | null)?.code
  if (code && FASTIFY_CLIENT_ERRORS[code]) return FASTIFY_CLIENT_ERRORS[code]()
  if (error instanceof SyntaxError) return new AppError('E_VALIDATION', 'body is not valid JSON', { field: 'body' })
  const status = (error as FastifyError | null)?.statusCode
  if (status && status >= 400 && status < 500)
    return new AppError('E_VALIDATION', (error as Error).message, { field: 'request' })
  if (isConnectionError(error))
    return new AppError('E_DATABASE_UNAVAILABLE', 'the replica database is unavailable; try again shortly', {
      cause: error,
      retryAfterSeconds: 2,
    })
  return new AppError('E_INTERNAL', 'internal error', { cause: error })
}

export function sendError(reply: FastifyReply, error: AppError): FastifyReply {
  if (error.retryAfterSeconds) reply.header('retry-after', String(error.retryAfterSeconds))
  return reply.status(error.status).type('application/json').send(errorBody(error))
}

export function errorHandler(error: unknown, request: FastifyRequest, reply: FastifyReply): FastifyReply {
  const appError = toAppError(error)
  if (appError.status >= 500) request.log.error({ err: error, code: appError.code }, 'request failed')
  else request.log.debug({ code: appError.code, msg: appError.message }, 'request rejected')
  return sendError(reply, appError)
}

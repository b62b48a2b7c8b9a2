// The one error registry: every coded error the service raises, and the HTTP status each maps to.

export const ERROR_STATUS = {
  E_VALIDATION: 400,
  E_BODY_TOO_LARGE: 413,
  E_UNSUPPORTED_MEDIA_TYPE: 415,
  E_UNAUTHORIZED: 401,
  E_FORBIDDEN: 403,
  /** A sign-in link's one-time code already used, expired, or unknown to this instance. */
  E_SIGN_IN_CODE_REFUSED: 401,
  E_NOT_FOUND: 404,
  E_EXAM_NOT_FOUND: 404,
  E_BOOKING_NOT_FOUND: 404,
  E_EXAM_FULL: 409,
  E_EXAM_INACTIVE: 409,
  E_ALREADY_CANCELLED: 409,
  /** Attendance cannot be marked on a cancelled booking. */
  E_BOOKING_CANCELLED: 409,
  E_CANCEL_IN_PROGRESS: 409,
  E_CAPACITY_BELOW_BOOKINGS: 409,
  E_WRITE_IN_PROGRESS: 409,
  E_CONFLICT: 409,
  E_CURSOR_EXPIRED: 410,
  E_HUBSPOT_VALIDATION: 422,
  E_IDEMPOTENCY_KEY_REUSED: 422,
  E_RATE_LIMITED: 429,
  /** A token subject (or the whole instance) holds as many SSE/WebSocket/long-poll/graphql-ws streams as allowed. */
  E_TOO_MANY_STREAMS: 429,
  /** A graphql-ws connection holds as many active subscriptions as allowed. */
  E_TOO_MANY_SUBSCRIPTIONS: 429,
  /** A caller has as many HubSpot pulls queued as allowed. */
  E_TOO_MANY_PULLS: 429,
  /** A GraphQL operation over its cost, field or alias limit; refused before it runs. */
  E_QUERY_TOO_COMPLEX: 400,
  /** A stream's reader fell behind its backlog limit and was dropped; resume from the last seq received. */
  E_SLOW_CONSUMER: 429,
  E_INTERNAL: 500,
  E_HUBSPOT_REJECTED: 502,
  E_HUBSPOT_UNAVAILABLE: 502,
  E_HUBSPOT_RATE_LIMITED: 503,
  E_HUBSPOT_DAILY_LIMIT: 503,
  E_DATABASE_UNAVAILABLE: 503,
  E_NOT_READY: 503,
  /** The token issuer's JWKS is unreachable and no key for the token is cached. */
  E_AUTH_UNAVAILABLE: 503,
} as const

export type ErrorCode = keyof typeof ERROR_STATUS

export interface AppErrorOptions {
  /** The request field the error is about, e.g. "startDate" or "body.capacity". */
  field?: string
  details?: Record<string, unknown>
  cause?: unknown
  /** Seconds a client should wait before retrying (sent as Retry-After). */
  retryAfterSeconds?: number
}

export class AppError extends Error {
  readonly code: ErrorCode
  readonly status: number
  readonly field?: string
  readonly details?: Record<string, unknown>
  readonly retryAfterSeconds?: number

  constructor(code: ErrorCode, message: string, options: AppErrorOptions = {}) {
    super(message, { cause: options.cause })
    this.name = 'AppError'
    this.code = code
    this.status = ERROR_STATUS[code]
    this.field = options.field
    this.details = options.details
    this.retryAfterSeconds = options.retryAfterSeconds
  }
}

export function isAppError(error: unknown): error is AppError {
  return error instanceof AppError
}

/** The client-facing error body; never carries a stack trace or a cause. */
export function errorBody(error: AppError): {
  success: false
  error: { code: string; message: string; field?: string; details?: Record<string, unknown> }
} {
  return {
    success: false,
    error: {
      code: error.code,
      message: error.message,
      ...(error.field ? { field: error.field } : {}),
      ...(error.details ? { details: error.details } : {}),
    },
  }
}

/*
 * Named factories for the errors raised in more than one place or by more than one part: the
 * message template lives here once (as Fastify's error registry carries its templates), callers
 * pass the values. A bad field's message always starts with the field's name.
 */

/** Bad input: `field: problem`, 400. */
export function invalidField(field: string, problem: string, details?: Record<string, unknown>): AppError {
  return new AppError('E_VALIDATION', `${field}: ${problem}`, { field, ...(details ? { details } : {}) })
}

export function examNotFound(examId: string, field = 'id'): AppError {
  return new AppError('E_EXAM_NOT_FOUND', `mock exam ${examId} was not found`, { field })
}

/** The replica knew the exam but HubSpot no longer does. */
export function examNotInHubSpot(examId: string, field = 'id'): AppError {
  return new AppError('E_EXAM_NOT_FOUND', `mock exam ${examId} is not in HubSpot`, { field })
}

export function examInactive(examId: string, field = 'examId'): AppError {
  return new AppError('E_EXAM_INACTIVE', `mock exam ${examId} is not active`, { field })
}

export function examFull(examId: string, taken: number, capacity: number): AppError {
  return new AppError('E_EXAM_FULL', `mock exam ${examId} is full (${taken} of ${capacity} seats taken)`, {
    field: 'examId',
    details: { capacity, taken },
  })
}

export function capacityBelowBookings(taken: number): AppError {
  return new AppError('E_CAPACITY_BELOW_BOOKINGS', `capacity cannot go below the ${taken} seats already taken`, {
    field: 'capacity',
    details: { taken },
  })
}

export function bookingNotFound(id: string): AppError {
  return new AppError('E_BOOKING_NOT_FOUND', `booking ${id} was not found`, { field: 'id' })
}

export function bookingNotInHubSpot(id: string): AppError {
  return new AppError('E_BOOKING_NOT_FOUND', `booking ${id} is not in HubSpot`, { field: 'id' })
}

export function alreadyCancelled(id: string): AppError {
  return new AppError('E_ALREADY_CANCELLED', `booking ${id} is already cancelled`, { field: 'id' })
}

/** Attendance is for bookings that hold a seat: a cancelled one is refused (I10). */
export function bookingCancelled(id: string): AppError {
  return new AppError('E_BOOKING_CANCELLED', `booking ${id} is cancelled; attendance cannot be marked on it`, {
    field: 'id',
  })
}

/** A pending cancel intent of another request holds the booking (I5, I6). */
export function cancelInProgress(id: string): AppError {
  return new AppError('E_CANCEL_IN_PROGRESS', `booking ${id} is being cancelled by another request`, {
    field: 'id',
    retryAfterSeconds: 1,
  })
}

/** An archive of the exam is in flight: no new seat on it (I2). */
export function examArchiving(examId: string, field = 'examId'): AppError {
  return new AppError('E_EXAM_INACTIVE', `mock exam ${examId} is being archived`, { field })
}

/** `field`: how the client sent the key (`Idempotency-Key` or `booking_id`) (I7). */
export function keyReused(field: string, key: string): AppError {
  return new AppError(
    'E_IDEMPOTENCY_KEY_REUSED',
    `${field} ${key} was already used for a different request; use a new key for a new booking`,
    { field },
  )
}

export function writeInProgress(field = 'booking_id'): AppError {
  return new AppError('E_WRITE_IN_PROGRESS', 'the same write is already in progress; retry shortly', {
    field,
    retryAfterSeconds: 1,
  })
}

/** Another instance holds the sync lock. */
export function syncBusy(): AppError {
  return new AppError('E_CONFLICT', 'another instance is running a sync; try again when it has finished', {
    retryAfterSeconds: 5,
  })
}

/** A resume cursor older than the retained change log: the client reloads a snapshot (`head` is the newest seq). */
export function cursorExpired(head: string, then: 'resume' | 'subscribe' = 'resume'): AppError {
  return new AppError(
    'E_CURSOR_EXPIRED',
    `the cursor is older than the retained change log: reload, then ${then} from the snapshot seq`,
    { details: { seq: head } },
  )
}

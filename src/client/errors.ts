// The client's one error type: a failed API call, carrying the server's error code and status.

export class HubmirrorError extends Error {
  readonly status: number
  /** The server's `error.code` (e.g. `E_EXAM_FULL`), or a client code such as `E_NETWORK`. */
  readonly code: string
  readonly field?: string
  /** Anything else the server put in `error` (e.g. a head seq on `E_CURSOR_EXPIRED`). */
  readonly details?: Record<string, unknown>

  constructor(
    status: number,
    code: string,
    message: string,
    options: { field?: string; details?: Record<string, unknown>; cause?: unknown } = {},
  ) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause })
    this.name = 'HubmirrorError'
    this.status = status
    this.code = code
    if (options.field !== undefined) this.field = options.field
    if (options.details !== undefined) this.details = options.details
  }

  /** Builds the error from a parsed `{ success: false, error }` body, or from a bare status. */
  static fromBody(status: number, body: unknown): HubmirrorError {
    const err = isObject(body) && isObject(body.error) ? body.error : null
    if (err && typeof err.code === 'string') {
      const { code, message, field, ...rest } = err
      return new HubmirrorError(status, code, typeof message === 'string' ? message : code, {
        ...(typeof field === 'string' ? { field } : {}),
        ...(Object.keys(rest).length > 0 ? { details: rest } : {}),
      })
    }
    // A proxy or a crashed server answers without the envelope; keep the status meaningful.
    return new HubmirrorError(status, `E_HTTP_${status}`, `Request failed with HTTP ${status}`)
  }
}

export function isHubmirrorError(value: unknown): value is HubmirrorError {
  // Checked by name as well, so two copies of the client (e.g. app + test bundle) still agree.
  return value instanceof HubmirrorError || (value instanceof Error && value.name === 'HubmirrorError')
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null
}

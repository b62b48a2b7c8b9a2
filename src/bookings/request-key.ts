// Binds an idempotency key to its request: a SHA-256 of the canonical body and the caller's token subject.
import { createHash } from 'node:crypto'

/** JSON with object keys sorted and undefined members dropped, so equal requests hash equal. */
function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`
  if (value && typeof value === 'object') {
    const members = Object.entries(value as Record<string, unknown>)
      .filter(([, member]) => member !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      .map(([key, member]) => `${JSON.stringify(key)}:${canonicalJson(member)}`)
    return `{${members.join(',')}}`
  }
  return JSON.stringify(value ?? null)
}

export function requestHash(subject: string, body: object): string {
  return createHash('sha256').update(canonicalJson({ subject, body })).digest('hex')
}

// Keyset page cursors: the sort key of a page's last row, opaque to clients (base64url JSON), checked on the way in.
import { invalidField } from '../errors.js'

export type CursorKind = 'exams' | 'bookings'

/** Each part of a key as the list's SQL takes it (src/replica/reads.ts): a bad cursor never reaches it. */
const PARTS: Record<CursorKind, RegExp[]> = {
  exams: [/^(\d{4}-\d{2}-\d{2}|infinity)$/, /^.{0,20}$/s, /^\d{1,20}$/],
  bookings: [/^(-?\d{1,19}|infinity)$/, /^\d{1,20}$/],
}

export function encodeCursor(key: readonly string[]): string {
  return Buffer.from(JSON.stringify(key)).toString('base64url')
}

/** The key a cursor names, or 400 naming `cursor`. */
export function decodeCursor(kind: CursorKind, cursor: string): string[] {
  let key: unknown
  try {
    key = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'))
  } catch {
    key = null
  }
  const parts = PARTS[kind]
  if (
    !Array.isArray(key) ||
    key.length !== parts.length ||
    !key.every((part, i) => typeof part === 'string' && parts[i]!.test(part))
  )
    throw invalidField(
      'cursor',
      `is not a cursor this list gave out (pass next_cursor from the previous page as it is)`,
    )
  return key as string[]
}

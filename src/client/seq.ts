// Change-log sequence numbers: decimal strings of a bigserial, compared exactly as BigInt.

export function isSeq(value: unknown): value is string {
  return typeof value === 'string' && /^\d+$/.test(value)
}

/** Negative, zero or positive as `a` is before, equal to or after `b`. Both must pass isSeq. */
export function compareSeq(a: string, b: string): number {
  const x = BigInt(a)
  const y = BigInt(b)
  return x < y ? -1 : x > y ? 1 : 0
}

/** The smaller of two positions; `null` counts as "unknown" and loses. */
export function minSeq(a: string | null, b: string | null): string | null {
  if (a === null) return b
  if (b === null) return a
  return compareSeq(a, b) <= 0 ? a : b
}

export function maxSeq(a: string | null, b: string | null): string | null {
  if (a === null) return b
  if (b === null) return a
  return compareSeq(a, b) >= 0 ? a : b
}

export function normalizeSeq(value: unknown): string | null {
  if (typeof value === 'number' && Number.isSafeInteger(value) && value >= 0) return String(value)
  return isSeq(value) ? value : null
}

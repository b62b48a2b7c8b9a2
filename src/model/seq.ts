// Change-log sequence numbers: decimal strings of a bigserial, compared exactly as BigInt.

export function isSeq(value: unknown): value is string {
  return typeof value === 'string' && /^\d+$/.test(value)
}

/** Negative, zero or positive as `a` is before, equal to or after `b`. Both must pass isSeq. */
export function compareSeq(a: string, b: string): number {
  // Hot path (the hub compares every event): without leading zeros a longer string is a bigger number.
  if (a[0] !== '0' && b[0] !== '0') return Math.sign(a.length - b.length) || (a < b ? -1 : a > b ? 1 : 0)
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

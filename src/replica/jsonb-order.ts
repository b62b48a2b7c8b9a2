// jsonb's key order (shorter first, then bytewise), so that a change event announced live stringifies as the one read back from the log.

/**
 * A value with its object keys in the order jsonb keeps them, so that an event announced live
 * stringifies as the same event read back from the log and parsed (the wire JSON of both
 * transports keeps keys in object order). Undefined members are dropped, as JSON drops them.
 *
 * A value already in that order is returned as it is, not copied: the change log's rows are built
 * in jsonb's order (columns.ts), so a backfill, which appends every row it writes, checks each one
 * and allocates nothing.
 */
export function inJsonbKeyOrder<T>(value: T): T {
  if (value === null || typeof value !== 'object') return value
  if (Array.isArray(value)) {
    let copy: unknown[] | undefined
    for (let i = 0; i < value.length; i++) {
      const ordered = inJsonbKeyOrder(value[i])
      if (ordered !== value[i]) (copy ??= [...value])[i] = ordered
    }
    return (copy ?? value) as T
  }
  const object = value as Record<string, unknown>
  const keys = Object.keys(object)
  if (isOrdered(object, keys)) return value
  const kept = keys.filter((key) => object[key] !== undefined).sort(compareJsonbKeys)
  // fromEntries, not assignment: a key named __proto__ stays a key.
  return Object.fromEntries(kept.map((key) => [key, inJsonbKeyOrder(object[key])])) as T
}

/** Keys ascending, none undefined, and every member already in order itself. */
function isOrdered(object: Record<string, unknown>, keys: readonly string[]): boolean {
  for (let i = 0; i < keys.length; i++) {
    const member = object[keys[i]]
    if (member === undefined) return false
    if (i > 0 && compareJsonbKeys(keys[i - 1], keys[i]) > 0) return false
    if (member !== null && typeof member === 'object' && inJsonbKeyOrder(member) !== member) return false
  }
  return true
}

/** jsonb's key order: by length in bytes, then bytewise. For ASCII, bytes are UTF-16 code units. */
export function compareJsonbKeys(a: string, b: string): number {
  if (isAscii(a) && isAscii(b)) return a.length - b.length || (a < b ? -1 : a > b ? 1 : 0)
  const x = Buffer.from(a)
  const y = Buffer.from(b)
  return x.length - y.length || Buffer.compare(x, y)
}

function isAscii(text: string): boolean {
  for (let i = 0; i < text.length; i++) if (text.charCodeAt(i) > 0x7f) return false
  return true
}

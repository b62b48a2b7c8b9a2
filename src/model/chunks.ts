// Splitting a list into consecutive slices of at most `size` items (HubSpot batches, IN filters).

export function chunks<T>(items: readonly T[], size: number): T[][] {
  const out: T[][] = []
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size))
  return out
}

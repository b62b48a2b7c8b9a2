// jsonb's key order as the change log's live events follow it: by length in bytes, then bytewise, for any text.
import { describe, expect, it } from 'vitest'
import { compareJsonbKeys, inJsonbKeyOrder } from './jsonb-order.js'

/** The definition, encoding every key: what the fast path must agree with. */
const reference = (a: string, b: string) => {
  const x = Buffer.from(a)
  const y = Buffer.from(b)
  return Math.sign(x.length - y.length || Buffer.compare(x, y))
}

/** Seeded, so a failure can be replayed: the seed is printed. */
function seeded(name: string) {
  const seed = Number(process.env.JSONB_KEYS_SEED ?? Date.now() % 1_000_000)
  console.log(`${name}: seed ${seed} (JSONB_KEYS_SEED=${seed} to replay)`)
  let state = seed
  return () => ((state = (state * 1_103_515_245 + 12_345) % 2 ** 31), state / 2 ** 31)
}

describe('compareJsonbKeys', () => {
  it('orders column names as jsonb does: shorter first, then bytewise', () => {
    const keys = ['student_name', 'id', 'exam_date', 'Zeta', 'alpha', 'notes', 'capacity']
    expect([...keys].sort(compareJsonbKeys)).toEqual([
      'id',
      'Zeta',
      'alpha',
      'notes',
      'capacity',
      'exam_date',
      'student_name',
    ])
  })

  it('agrees with the byte definition on seeded random keys, ASCII and not', () => {
    const next = seeded('jsonb key order')
    // é and ö are 2 bytes in UTF-8 and one UTF-16 unit; 😀 is 4 bytes and two units (a surrogate pair).
    const alphabet = ['a', 'b', 'Z', '_', '0', '~', 'é', 'ö', '李', '😀', '\u007f', '\u0080']
    const key = () =>
      Array.from({ length: Math.floor(next() * 5) }, () => alphabet[Math.floor(next() * alphabet.length)]).join('')
    for (let i = 0; i < 5_000; i++) {
      const a = key()
      const b = key()
      expect(Math.sign(compareJsonbKeys(a, b)), `${JSON.stringify(a)} vs ${JSON.stringify(b)}`).toBe(reference(a, b))
    }
  })
})

describe('inJsonbKeyOrder', () => {
  it('returns a value already in order as it is, copying nothing', () => {
    const row = { id: '1', name: 'a', notes: null, changes: { size: [1, 2] }, exam_date: '2026-03-01' }
    expect(inJsonbKeyOrder(row)).toBe(row)
    const list = [row, 1, 'x', null]
    expect(inJsonbKeyOrder(list)).toBe(list)
  })

  it('orders keys at every depth, drops undefined members, and leaves the input untouched', () => {
    const inner = { zz: 1, a: undefined, b: 2 }
    const value = { notes: [inner, 'x'], id: '1', gone: undefined }
    const ordered = inJsonbKeyOrder(value)
    expect(JSON.stringify(ordered)).toBe('{"id":"1","notes":[{"b":2,"zz":1},"x"]}')
    expect(Object.keys(value)).toEqual(['notes', 'id', 'gone'])
    expect(Object.keys(inner)).toEqual(['zz', 'a', 'b'])
  })

  it('keeps a key named __proto__ as a key', () => {
    const value = JSON.parse('{"__proto__":{"x":1},"zz":1}') as object
    expect(JSON.stringify(inJsonbKeyOrder(value))).toBe('{"zz":1,"__proto__":{"x":1}}')
  })

  it('stringifies seeded random objects, in order or not, with keys as the byte definition orders them', () => {
    const next = seeded('jsonb object order')
    const alphabet = ['a', 'b', 'Z', '_', 'é', '李', '😀']
    const key = () =>
      Array.from({ length: 1 + Math.floor(next() * 4) }, () => alphabet[Math.floor(next() * 7)]).join('')
    const object = (depth: number): Record<string, unknown> => {
      const entries: [string, unknown][] = Array.from({ length: Math.floor(next() * 6) }, () => {
        const roll = next()
        return [
          key(),
          depth > 0 && roll < 0.2 ? object(depth - 1) : roll < 0.3 ? undefined : roll < 0.4 ? [null, key()] : key(),
        ]
      })
      // Half of them built in order already, to take the path that copies nothing.
      if (next() < 0.5) entries.sort(([a], [b]) => reference(a, b))
      return Object.fromEntries(entries)
    }
    /** The reference: every object's keys sorted by their UTF-8 bytes, undefined members dropped. */
    const expected = (value: unknown): unknown =>
      Array.isArray(value)
        ? value.map(expected)
        : value !== null && typeof value === 'object'
          ? Object.fromEntries(
              Object.entries(value)
                .filter(([, member]) => member !== undefined)
                .sort(([a], [b]) => reference(a, b))
                .map(([k, member]) => [k, expected(member)]),
            )
          : value
    for (let i = 0; i < 2_000; i++) {
      const value = object(2)
      const before = JSON.stringify(value)
      expect(JSON.stringify(inJsonbKeyOrder(value))).toBe(JSON.stringify(expected(value)))
      expect(JSON.stringify(value), 'the input is never changed').toBe(before)
    }
  })
})

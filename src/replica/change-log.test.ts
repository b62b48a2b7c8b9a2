// jsonb's key order as the change log's live events follow it: by length in bytes, then bytewise, for any text.
import { describe, expect, it } from 'vitest'
import { compareJsonbKeys } from './change-log.js'

/** The definition, encoding every key: what the fast path must agree with. */
const reference = (a: string, b: string) => {
  const x = Buffer.from(a)
  const y = Buffer.from(b)
  return Math.sign(x.length - y.length || Buffer.compare(x, y))
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
    // Seeded, so a failure can be replayed: the seed is printed.
    const seed = Number(process.env.JSONB_KEYS_SEED ?? Date.now() % 1_000_000)
    console.log(`jsonb key order seed ${seed} (JSONB_KEYS_SEED=${seed} to replay)`)
    let state = seed
    const next = () => ((state = (state * 1_103_515_245 + 12_345) % 2 ** 31), state / 2 ** 31)
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

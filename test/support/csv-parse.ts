// A strict RFC 4180 reader for tests: what a spreadsheet does with our CSV, refusing anything the RFC does not allow.

/**
 * Parses a whole file into records of fields. A leading UTF-8 BOM is skipped (as Excel does);
 * records end with CRLF; a quote inside an unquoted field, an unterminated quote, text after a
 * closing quote, or a bare CR or LF outside quotes is an error, so a test fails on any encoder
 * slip instead of reading it leniently.
 */
export function parseCsv(text: string): string[][] {
  const input = text.startsWith('\uFEFF') ? text.slice(1) : text
  const records: string[][] = []
  let record: string[] = []
  let i = 0
  const fail = (why: string): never => {
    throw new Error(`CSV: ${why} at offset ${i}: ${JSON.stringify(input.slice(Math.max(0, i - 20), i + 20))}`)
  }
  if (input === '') return records
  for (;;) {
    let field = ''
    if (input[i] === '"') {
      i += 1
      for (;;) {
        if (i >= input.length) fail('unterminated quoted field')
        if (input[i] === '"') {
          if (input[i + 1] === '"') {
            field += '"'
            i += 2
            continue
          }
          i += 1
          break
        }
        field += input[i]
        i += 1
      }
    } else {
      while (i < input.length && input[i] !== ',' && input[i] !== '\r' && input[i] !== '\n') {
        if (input[i] === '"') fail('quote in an unquoted field')
        field += input[i]
        i += 1
      }
    }
    record.push(field)
    if (i >= input.length) {
      records.push(record)
      return records
    }
    if (input[i] === ',') {
      i += 1
      continue
    }
    if (input[i] === '\r' && input[i + 1] === '\n') {
      records.push(record)
      record = []
      i += 2
      if (i >= input.length) return records
      continue
    }
    fail(input[i] === '\r' || input[i] === '\n' ? 'line break that is not CRLF' : 'text after a closing quote')
  }
}

/** Records as objects keyed by the header row; every record must have the header's width. */
export function parseCsvObjects(text: string): Record<string, string>[] {
  const [header, ...rows] = parseCsv(text)
  if (!header) return []
  return rows.map((row, n) => {
    if (row.length !== header.length)
      throw new Error(`CSV: record ${n + 2} has ${row.length} fields, not ${header.length}`)
    return Object.fromEntries(header.map((name, k) => [name, row[k]!]))
  })
}

/**
 * Whether a spreadsheet opening the file would take this cell for a formula: it starts (after any
 * white space, which some skip) with `=`, `+`, `-` or `@` followed by more. A cell escaped
 * with a leading `'` is text, shown with its apostrophe.
 */
export function isFormula(cell: string): boolean {
  return /^\s*[=+\-@]./s.test(cell)
}

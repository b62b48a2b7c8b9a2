// The one CSV encoder: RFC 4180 records (CRLF, quoted fields) made safe to open in a spreadsheet.

/** What a cell may hold; null and undefined are empty cells. */
export type CsvValue = string | number | boolean | null | undefined

/**
 * First characters that make Excel, LibreOffice or Google Sheets read a cell as a formula (OWASP,
 * "CSV Injection"): `=`, `+`, `-`, `@`, and TAB or CR; and those behind leading white space, which
 * some spreadsheets skip before looking.
 */
const FORMULA_START = /^(?:[\t\r]|\s*[=+\-@])/
/** A field with any of these must be quoted (RFC 4180 section 2, rules 5 and 6). */
const NEEDS_QUOTES = /[",\r\n]/

/** Excel reads a file as UTF-8 only when it starts with this byte order mark; other readers skip it. */
export const UTF8_BOM = '\uFEFF'
export const CSV_CONTENT_TYPE = 'text/csv; charset=utf-8; header=present'

/**
 * One field. Text that a spreadsheet would take for a formula gets a leading `'` and quotes, so
 * `=HYPERLINK("http://evil","x")` shows as that text and never runs. Numbers and booleans are ours,
 * not user input, and are written as they are (a negative number stays a number).
 */
export function csvField(value: CsvValue): string {
  if (value === null || value === undefined) return ''
  if (typeof value !== 'string') return String(value)
  if (FORMULA_START.test(value)) return `"'${value.replaceAll('"', '""')}"`
  return NEEDS_QUOTES.test(value) ? `"${value.replaceAll('"', '""')}"` : value
}

/** One record, CRLF-terminated (RFC 4180 rule 1; the last record too, which rule 2 allows). */
export function csvRecord(values: readonly CsvValue[]): string {
  return `${values.map(csvField).join(',')}\r\n`
}

/**
 * A whole file as chunks: the BOM and the header row, then one chunk per batch of rows, each row
 * picked by `columns` in that order. Pulls the next batch only when the reader asks for more, so
 * a slow download holds one batch in memory, never the whole table.
 */
export async function* csvChunks(
  columns: readonly string[],
  batches: AsyncIterable<readonly Record<string, CsvValue>[]>,
): AsyncGenerator<string> {
  yield UTF8_BOM + csvRecord(columns)
  for await (const rows of batches) {
    if (rows.length === 0) continue
    let chunk = ''
    for (const row of rows) chunk += csvRecord(columns.map((column) => row[column]))
    yield chunk
  }
}

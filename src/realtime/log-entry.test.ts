// Encodings are built once per event and shared; slices filter by exam and cursor without copying when they can.
import { describe, expect, it } from 'vitest'
import type { ChangeEvent, LoggedChangeEvent } from '../model/records.js'
import { EventSlice, LogEntry } from './log-entry.js'

const event = (seq: number, examId: string | null = 'e1'): ChangeEvent => ({
  seq: String(seq),
  kind: 'booking',
  op: 'upsert',
  hubspot_id: `b${seq}`,
  exam_id: examId,
  source: 'write',
  at: '2026-01-01T00:00:00.000Z',
  changes: null,
  origin: null,
  row: { note: 'line one\nline two' } as unknown as ChangeEvent['row'],
})

describe('LogEntry', () => {
  it('encodes an SSE frame with id = seq on one data line, once', () => {
    const entry = new LogEntry(event(7))
    const frame = entry.sse().toString()
    expect(frame).toBe(`id: 7\nevent: change\ndata: ${JSON.stringify(event(7))}\n\n`)
    expect(frame.split('\n')).toHaveLength(5)
    expect(entry.sse()).toBe(entry.sse())
    expect(JSON.parse(entry.wsMessage().toString())).toEqual({ type: 'change', event: event(7) })
  })
})

describe('LogEntry of a logged event (row kept as jsonb text)', () => {
  // As Postgres prints jsonb: keys by length then bytes, a space after `:` and `,`, numbers as stored.
  const rowJson =
    '{"n": 12345678901234567890, "big": 1000000000000000000000, "note": "é 😀 \\n \\"q\\" \u2028", "nested": {"a": [1, 2.50, null]}}'
  const { row: _row, ...envelope } = event(9)
  const logged: LoggedChangeEvent = { ...envelope, rowJson }
  const parsed: ChangeEvent = { ...envelope, row: JSON.parse(rowJson) as ChangeEvent['row'] }

  it('splices the row text into the envelope: the same JSON value, keys and order as stringifying the parsed event', () => {
    const entry = new LogEntry(logged)
    const json = entry.json()
    expect(json).toContain(`,"row":${rowJson}}`)
    expect(JSON.stringify(JSON.parse(json))).toBe(new LogEntry(parsed).json())
    expect(entry.sse().toString().split('\n')).toHaveLength(5)
    expect(JSON.parse(entry.wsMessage().toString())).toEqual({ type: 'change', event: parsed })
  })

  it('parses the row only when `event` is asked for, and a null row stays null', () => {
    const entry = new LogEntry(logged)
    expect([entry.seq, entry.kind, entry.examId]).toEqual(['9', 'booking', 'e1'])
    expect(entry.event).toEqual(parsed)
    expect(entry.event).toBe(entry.event)
    const deleted = new LogEntry({ ...logged, rowJson: 'null' })
    expect(JSON.parse(deleted.json())).toEqual({ ...envelope, row: null })
    expect(deleted.event.row).toBeNull()
  })
})

describe('EventSlice', () => {
  const slice = EventSlice.of([event(1, 'a'), event(2, 'b'), event(3, 'a'), event(4, null)])

  it('filters by exam, memoising the one-exam view', () => {
    expect(slice.forExams(null)).toBe(slice)
    expect(slice.forExam('a')?.entries.map((e) => e.seq)).toEqual(['1', '3'])
    expect(slice.forExams(new Set(['a']))).toBe(slice.forExam('a'))
    expect(slice.forExams(new Set(['a', 'b']))?.entries.map((e) => e.seq)).toEqual(['1', '2', '3'])
    expect(slice.forExam('zzz')).toBeNull()
  })

  it('drops what a cursor already covers, comparing seqs as numbers', () => {
    expect(slice.after(null)).toBe(slice)
    expect(slice.after('0')).toBe(slice)
    expect(slice.after('2')?.entries.map((e) => e.seq)).toEqual(['3', '4'])
    expect(slice.after('4')).toBeNull()
    expect(EventSlice.of([event(10)]).after('9')?.lastSeq).toBe('10')
  })

  it('concatenates SSE frames once, from the shared per-event buffers', () => {
    const bytes = slice.sse()
    expect(bytes.toString()).toBe(slice.entries.map((e) => e.sse().toString()).join(''))
    expect(slice.sse()).toBe(bytes)
    expect(slice.take(2).entries).toHaveLength(2)
  })
})

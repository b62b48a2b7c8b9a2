// Tests for the SSE parser: framing, fields, and chunk boundaries anywhere in the byte stream.
import { describe, expect, it } from 'vitest'
import { createSseParser, type SseMessage } from './sse-parser.js'

function collect() {
  const messages: SseMessage[] = []
  const comments: string[] = []
  const retries: number[] = []
  const parser = createSseParser({
    onMessage: (m) => messages.push(m),
    onComment: (c) => comments.push(c),
    onRetry: (ms) => retries.push(ms),
  })
  return { parser, messages, comments, retries }
}

const STREAM =
  'retry: 1500\n' +
  ': hb\n\n' +
  'id: 41\nevent: change\ndata: {"seq":"41","op":"upsert"}\n\n' +
  'id: 42\r\nevent: change\r\ndata: {"seq":"42",\r\ndata: "op":"delete"}\r\n\r\n' +
  'event: ready\rdata: {"seq":"42"}\r\r' +
  'data: héllo ✓\n\n'

describe('createSseParser', () => {
  it('parses ids, event types, multi-line data, comments and retry', () => {
    const { parser, messages, comments, retries } = collect()
    parser.feed(STREAM)
    expect(retries).toEqual([1500])
    expect(comments).toEqual(['hb'])
    expect(messages).toEqual([
      { event: 'change', data: '{"seq":"41","op":"upsert"}', id: '41' },
      { event: 'change', data: '{"seq":"42",\n"op":"delete"}', id: '42' },
      { event: 'ready', data: '{"seq":"42"}', id: '42' },
      { event: 'message', data: 'héllo ✓', id: '42' },
    ])
    expect(parser.lastEventId).toBe('42')
  })

  it('gives the same result however the bytes are split, including inside CRLF and UTF-8', () => {
    const bytes = new TextEncoder().encode(STREAM)
    const { parser: whole, messages: expected } = collect()
    whole.feed(bytes)
    for (let size = 1; size <= 7; size++) {
      const { parser, messages, comments } = collect()
      for (let i = 0; i < bytes.length; i += size) parser.feed(bytes.subarray(i, i + size))
      expect(messages).toEqual(expected)
      expect(comments).toEqual(['hb'])
    }
    // Every possible two-way split, which covers a CR at the very end of a chunk.
    for (let cut = 0; cut <= bytes.length; cut++) {
      const { parser, messages } = collect()
      parser.feed(bytes.subarray(0, cut))
      parser.feed(bytes.subarray(cut))
      expect(messages).toEqual(expected)
    }
  })

  it('follows the spec on edge cases', () => {
    const { parser, messages, retries } = collect()
    parser.feed('\uFEFFdata\n\n') // BOM stripped; a bare "data" field is an empty line of data
    parser.feed('data:no-space\n\n') // the single optional space after the colon
    parser.feed('data:  two\n\n') // only one space is stripped
    parser.feed('event: x\n\n') // no data: nothing dispatched, and the type does not leak
    parser.feed('data: after\n\n')
    parser.feed('retry: soon\nretry: 20\n\n') // non-numeric retry ignored
    parser.feed('id: a\0b\ndata: nul\n\n') // ids with NUL are ignored
    parser.feed('unknown: field\ndata: z\n\n')
    parser.feed('data: unterminated')
    parser.end()
    expect(messages.map((m) => [m.event, m.data, m.id])).toEqual([
      ['message', '', ''],
      ['message', 'no-space', ''],
      ['message', ' two', ''],
      ['message', 'after', ''],
      ['message', 'nul', ''],
      ['message', 'z', ''],
    ])
    expect(retries).toEqual([20])
  })

  it('keeps the last id across events and lets an empty id reset it', () => {
    const { parser, messages } = collect()
    parser.feed('id: 7\ndata: a\n\ndata: b\n\nid\ndata: c\n\n')
    expect(messages.map((m) => m.id)).toEqual(['7', '7', ''])
  })

  it('handles large events split across many chunks', () => {
    const { parser, messages } = collect()
    const big = 'x'.repeat(200_000)
    const text = `id: 9\nevent: change\ndata: ${big}\n\n`
    for (let i = 0; i < text.length; i += 4096) parser.feed(text.slice(i, i + 4096))
    expect(messages).toHaveLength(1)
    expect(messages[0]?.data.length).toBe(200_000)
  })
})

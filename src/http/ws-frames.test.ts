// Shared WebSocket frames: each entry its own text frame with the RFC's shortest length form, built once per slice.
import { describe, expect, it } from 'vitest'
import { EventSlice } from '../realtime/index.js'
import type { ChangeEvent } from '../model/records.js'
import { sliceFrames } from './ws-frames.js'

const event = (seq: string, padding: number): ChangeEvent =>
  ({
    seq,
    kind: 'booking',
    op: 'upsert',
    hubspot_id: `b${seq}`,
    exam_id: 'E',
    source: 'write',
    at: '2026-12-05T00:00:00.000Z',
    row: { note: 'x'.repeat(padding) },
  }) as unknown as ChangeEvent

/** Reads unmasked server frames back: [opcode, payload text] each. */
function parse(bytes: Buffer): [number, string][] {
  const frames: [number, string][] = []
  for (let at = 0; at < bytes.length;) {
    expect(bytes[at] & 0x80).toBe(0x80)
    expect(bytes[at + 1] & 0x80).toBe(0)
    let length = bytes[at + 1] & 0x7f
    let header = 2
    if (length === 126) [length, header] = [bytes.readUInt16BE(at + 2), 4]
    else if (length === 127) [length, header] = [Number(bytes.readBigUInt64BE(at + 2)), 10]
    frames.push([bytes[at] & 0x0f, bytes.toString('utf8', at + header, at + header + length)])
    at += header + length
  }
  return frames
}

describe('sliceFrames', () => {
  it('frames each entry as its own text message, short, 16-bit and 64-bit lengths alike', () => {
    // The first is cut down to a few fields, so that its message is under 126 bytes.
    const tiny = { seq: '1', kind: 'exam', exam_id: null } as unknown as ChangeEvent
    const slice = EventSlice.of([tiny, event('2', 200), event('3', 70_000)])
    const frames = parse(sliceFrames(slice))
    expect(frames.map(([opcode]) => opcode)).toEqual([1, 1, 1])
    expect(frames.map(([, text]) => text)).toEqual(slice.entries.map((entry) => entry.wsMessage().toString('utf8')))
    expect(frames.map(([, text]) => JSON.parse(text).event.seq)).toEqual(['1', '2', '3'])
    const lengths = slice.entries.map((entry) => entry.wsMessage().length)
    expect(lengths[0]).toBeLessThan(126)
    expect(lengths[1]).toBeGreaterThanOrEqual(126)
    expect(lengths[2]).toBeGreaterThanOrEqual(65_536)
  })

  it('builds a slice’s bytes once, whoever asks', () => {
    const slice = EventSlice.of([event('7', 10)])
    expect(sliceFrames(slice)).toBe(sliceFrames(slice))
  })
})

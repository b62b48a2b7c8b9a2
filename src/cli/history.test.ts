// `hubmirror history` prints one line per change: when, who, and each field's old → new.
import { describe, expect, it } from 'vitest'
import type { HistoryEntry } from '../model/records.js'
import { describeEntry } from './history.js'

const entry = (partial: Partial<HistoryEntry>): HistoryEntry => ({
  seq: '7',
  kind: 'booking',
  op: 'upsert',
  hubspot_id: '501',
  exam_id: '9',
  source: 'write',
  at: '2026-12-05T08:00:00.000Z',
  changes: { attendance: [null, 'attended'] },
  origin: { kind: 'hubmirror', subject: 'alice@school' },
  ...partial,
})

describe('describeEntry', () => {
  it('names the subject of a hubmirror write and each field as old → new', () => {
    expect(describeEntry(entry({}))).toBe(
      '2026-12-05T08:00:00.000Z  #7  changed by hubmirror (alice@school)  attendance: ∅ → "attended"',
    )
  })

  it("names HubSpot's source and user for a change a pull found, and says when fields were not recorded", () => {
    const found = entry({
      source: 'sync',
      changes: { attending_location: ['Halifax', 'Annex'], capacity: [10, 12] },
      origin: { kind: 'hubspot', source: 'CRM_UI', user_id: '4242' },
    })
    expect(describeEntry(found)).toContain(
      'changed by HubSpot (CRM_UI, user 4242)  attending_location: "Halifax" → "Annex", capacity: 10 → 12',
    )
    expect(describeEntry(entry({ changes: null, origin: null, op: 'delete' }))).toContain(
      'deleted by write  (fields not recorded',
    )
  })
})

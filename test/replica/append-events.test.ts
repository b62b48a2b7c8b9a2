// The events an append returns (and announces live) are the events the log gives back: same values, keys and key order.
import { describe, expect, it } from 'vitest'
import type { ChangeOrigin, CommittedEvent } from '../../src/model/records.js'
import { LogEntry } from '../../src/realtime/index.js'
import { BOOKINGS, EXAMS, recordJson } from '../../src/replica/columns.js'
import { currentRecords, headSeq, readEvents, softDeleteBookings, upsertBookings } from '../../src/replica/index.js'
import { inJsonbKeyOrder } from '../../src/replica/jsonb-order.js'
import { makeBooking, makeExam } from '../support/records.js'
import { commit, listeningApp } from '../support/streams.js'

describe('change log: what an append returns', () => {
  const exam = makeExam()
  const live = listeningApp([exam])

  /** Each logged event, its row parsed, as the log reads back (the old append returned exactly this). */
  async function fromTheLog(after: string): Promise<string[]> {
    const logged = await readEvents(live.t.app.db, { after })
    return logged.map((event) => JSON.stringify(JSON.parse(new LogEntry(event).json())))
  }

  it('returns inserts, updates and deletes with the seqs, times, changes, origins and rows the log keeps', async () => {
    const from = await headSeq(live.t.app.db)
    const later = (iso: string, ms: number) => new Date(Date.parse(iso) + ms).toISOString()
    const first = makeBooking(exam, { student_name: 'Zoë Ångström 李小龍 😀', student_email: null })
    const second = makeBooking(exam, { attendance: 'attended' })
    const origins = new Map<string, ChangeOrigin>([
      // HubSpot's attribution, one field missing: a missing key is absent from the log, not null.
      [first.hubspot_id, { kind: 'hubspot', source: 'CRM_UI', user_id: '42', source_id: undefined }],
    ])
    const returned: CommittedEvent[] = []
    returned.push(
      ...(await commit(live.t.app, (tx) => upsertBookings(tx, [second, first], 'sync', { origins }))),
      // An update (a field list of [old, new]), a version not newer (no event), then a delete.
      ...(await commit(live.t.app, (tx) =>
        upsertBookings(
          tx,
          [
            { ...first, booking_status: 'cancelled', hs_lastmodifieddate: later(first.hs_lastmodifieddate, 1_000) },
            { ...second, student_name: 'stale', hs_lastmodifieddate: later(second.hs_lastmodifieddate, -1_000) },
          ],
          'write',
          { origin: { kind: 'hubmirror', subject: 'admin@example.com' } },
        ),
      )),
      ...(await commit(live.t.app, (tx) =>
        softDeleteBookings(tx, [second.hubspot_id], new Date(later(second.hs_lastmodifieddate, 2_000)), 'sync'),
      )),
    )

    expect(returned.map((event) => `${event.op} ${event.hubspot_id}`)).toEqual([
      `upsert ${first.hubspot_id}`,
      `upsert ${second.hubspot_id}`,
      `upsert ${first.hubspot_id}`,
      `delete ${second.hubspot_id}`,
    ])
    expect(returned[2].changes).toEqual({ booking_status: ['confirmed', 'cancelled'] })
    // Byte for byte after normalising layout: the same keys in the same order, the same values.
    expect(returned.map((event) => JSON.stringify(event))).toEqual(await fromTheLog(from))
  })

  it('reads the rows events carry with their keys already in jsonb order, so that no event is reordered in JS', async () => {
    const booking = makeBooking(exam)
    await commit(live.t.app, (tx) => upsertBookings(tx, [booking], 'sync'))
    // The write path's own read of a record: in order already, so the key ordering passes it on uncopied.
    const [record] = (await currentRecords(live.t.app.db, 'booking', [booking.hubspot_id])).values()
    expect(inJsonbKeyOrder(record)).toBe(record)
    for (const [spec, alias] of [
      [EXAMS, 'e'],
      [BOOKINGS, 'b'],
    ] as const) {
      const { rows } = await live.t.app.db.query<{ built: string; jsonb: string }>(
        `SELECT ${recordJson(spec, alias, 'jsonb')}::text AS built, ${recordJson(spec, alias)}::jsonb::text AS jsonb
           FROM ${spec.table} ${alias} LIMIT 1`,
      )
      expect(rows, spec.table).toHaveLength(1)
      expect(Object.keys(JSON.parse(rows[0].built)), spec.table).toEqual(Object.keys(JSON.parse(rows[0].jsonb)))
    }
  })
})

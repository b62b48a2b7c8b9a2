// Tests for applying change events to booking lists and exam lists.
import { describe, expect, it } from 'vitest'
import type { ChangeEvent, ExamRecord } from '../model/records.js'
import { applyBookingEvent, applyExamEvent } from './booking-state.js'
import { bookingRow } from '../../test/support/fake-realtime-server.js'

const event = (partial: Partial<ChangeEvent>): ChangeEvent => ({
  seq: '10',
  kind: 'booking',
  op: 'upsert',
  hubspot_id: 'b1',
  exam_id: 'e1',
  source: 'write',
  at: '',
  changes: null,
  origin: null,
  row: bookingRow('b1', 'e1'),
  ...partial,
})

describe('applyBookingEvent', () => {
  const lists = { e1: [bookingRow('b1', 'e1'), bookingRow('b2', 'e1')], e2: [] }

  it('upserts in place and appends new rows', () => {
    const cancelled = bookingRow('b1', 'e1', { booking_status: 'cancelled' })
    const next = applyBookingEvent(lists, event({ row: cancelled }))
    expect(next.e1?.map((b) => b.booking_status)).toEqual(['cancelled', 'confirmed'])
    expect(next.e2).toBe(lists.e2)
    const added = applyBookingEvent(lists, event({ hubspot_id: 'b3', row: bookingRow('b3', 'e1') }))
    expect(added.e1?.map((b) => b.hubspot_id)).toEqual(['b1', 'b2', 'b3'])
  })

  it('removes on delete and on a soft-deleted row', () => {
    expect(applyBookingEvent(lists, event({ op: 'delete', row: null })).e1?.length).toBe(1)
    const soft = bookingRow('b2', 'e1', { deleted_at: '2030-01-01T00:00:00Z' })
    expect(applyBookingEvent(lists, event({ hubspot_id: 'b2', row: soft })).e1?.map((b) => b.hubspot_id)).toEqual([
      'b1',
    ])
  })

  it('moves a booking whose exam changed', () => {
    const next = applyBookingEvent(lists, event({ exam_id: 'e2', row: bookingRow('b1', 'e2') }))
    expect(next.e1?.map((b) => b.hubspot_id)).toEqual(['b2'])
    expect(next.e2?.map((b) => b.hubspot_id)).toEqual(['b1'])
  })

  it('ignores untracked exams, exam events, and events already in the snapshot', () => {
    expect(applyBookingEvent(lists, event({ exam_id: 'e9', row: bookingRow('b9', 'e9'), hubspot_id: 'b9' }))).toBe(
      lists,
    )
    expect(applyBookingEvent(lists, event({ kind: 'exam' }))).toBe(lists)
    expect(applyBookingEvent(lists, event({ seq: '5', op: 'delete', row: null }), { e1: '5' })).toBe(lists)
    expect(applyBookingEvent(lists, event({ seq: '6', op: 'delete', row: null }), { e1: '5' })).not.toBe(lists)
  })
})

describe('applyExamEvent', () => {
  const exam = (id: string, capacity = 10) => ({ hubspot_id: id, capacity, deleted_at: null }) as unknown as ExamRecord
  it('upserts, appends and removes', () => {
    const list = [exam('x1'), exam('x2')]
    const e = (p: Partial<ChangeEvent>) =>
      event({ kind: 'exam', hubspot_id: 'x1', exam_id: 'x1', row: exam('x1', 20), ...p })
    expect(applyExamEvent(list, e({}))[0]?.capacity).toBe(20)
    expect(applyExamEvent(list, e({ hubspot_id: 'x3', row: exam('x3') })).length).toBe(3)
    expect(applyExamEvent(list, e({ op: 'delete', row: null })).map((x) => x.hubspot_id)).toEqual(['x2'])
    expect(applyExamEvent(list, event({}))).toBe(list)
  })
})

import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { CommittedEvent } from '../model/records.js'
import { softDeleteBookings, upsertBookings, upsertExams, type ReplicaDriver } from '../replica/index.js'
import { makeBooking, makeExam } from '../../test/support/records.js'
import { openScratchReplica } from '../../test/support/scratch-replica.js'
import { dependencyNames, deps } from './dependencies.js'

const later = (iso: string) => new Date(Date.parse(iso) + 1000).toISOString()

describe('dependencyNames', () => {
  let db: ReplicaDriver
  beforeAll(async () => {
    db = await openScratchReplica()
  })
  afterAll(async () => {
    await db.close()
  })

  it('bumps nothing for no events', () => {
    expect(dependencyNames([])).toEqual([])
  })

  it('bumps an exam and the collection for an exam change', async () => {
    const exam = makeExam()
    const events = await db.transaction((tx) => upsertExams(tx, [exam], 'write'))
    expect(dependencyNames(events).sort()).toEqual([deps.exam(exam.hubspot_id), deps.examCollection].sort())
  })

  it('bumps the exam of a new, changed or deleted booking, and the collection', async () => {
    const exam = makeExam()
    const booking = makeBooking(exam)
    let events: CommittedEvent[] = await db.transaction(async (tx) => {
      await upsertExams(tx, [exam], 'write')
      return upsertBookings(tx, [booking], 'write')
    })
    expect(dependencyNames(events).sort()).toEqual([deps.exam(exam.hubspot_id), deps.examCollection].sort())
    events = await db.transaction((tx) => softDeleteBookings(tx, [booking.hubspot_id], new Date(), 'sync'))
    expect(dependencyNames(events).sort()).toEqual([deps.exam(exam.hubspot_id), deps.examCollection].sort())
  })

  it('bumps both exams of a booking that moved, from the change the log records', async () => {
    const from = makeExam()
    const to = makeExam()
    const booking = makeBooking(from)
    await db.transaction(async (tx) => {
      await upsertExams(tx, [from, to], 'sync')
      await upsertBookings(tx, [booking], 'sync')
    })
    const moved = { ...booking, mock_exam_id: to.hubspot_id, hs_lastmodifieddate: later(booking.hs_lastmodifieddate) }
    const events = await db.transaction((tx) => upsertBookings(tx, [moved], 'sync'))
    expect(events).toHaveLength(1)
    expect(dependencyNames(events).sort()).toEqual(
      [deps.exam(from.hubspot_id), deps.exam(to.hubspot_id), deps.examCollection].sort(),
    )
  })

  it('names each generation once for many events', async () => {
    const exam = makeExam()
    const bookings = [makeBooking(exam), makeBooking(exam), makeBooking(exam)]
    const events = await db.transaction(async (tx) => [
      ...(await upsertExams(tx, [exam], 'sync')),
      ...(await upsertBookings(tx, bookings, 'sync')),
    ])
    expect(events).toHaveLength(4)
    expect(dependencyNames(events).sort()).toEqual([deps.exam(exam.hubspot_id), deps.examCollection].sort())
  })
})

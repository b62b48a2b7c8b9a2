// Reconcile walks the replica beside HubSpot's id-ordered listing: every planted drift is found wherever it falls, and --fix repairs them all.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { HubSpotObject } from '../../src/hubspot/index.js'
import { upsertBookings } from '../../src/replica/index.js'
import { makeBooking, makeExam, startTestApp, type TestApp } from '../support/fixtures.js'
import { expectReplicaMatches, hubspotObjects } from '../support/replica-check.js'
import { prng } from '../support/resilience-harness.js'

const SEED = Number(process.env.RECONCILE_SEED ?? Date.now() % 1_000_000)

describe(`reconcile: streaming merge of the two id orders (seed ${SEED}, RECONCILE_SEED to replay)`, () => {
  let t: TestApp
  let bookings: HubSpotObject[]

  beforeAll(async () => {
    console.log(`reconcile-stream seed ${SEED}`)
    t = await startTestApp({ emulator: { seed: 1200 } })
    await t.app.sync!.backfill()
    bookings = await hubspotObjects(t.emulator!, 'bookings')
  })
  afterAll(() => t.close())

  it('finds every planted drift: at page edges, before the first id, past the last, and more than a window holds', async () => {
    const rand = prng(SEED)
    const shuffled = [...bookings].sort(() => rand() - 0.5)
    // Page edges (HubSpot lists 100 a page): the first and last of a page are where windows meet.
    const edges = [bookings[0]!, bookings[99]!, bookings[100]!, bookings.at(-1)!]
    const picked = new Set(edges.map((b) => b.id))
    const take = (n: number) => {
      const out: string[] = []
      for (const b of shuffled) if (out.length < n && !picked.has(b.id)) (picked.add(b.id), out.push(b.id))
      return out
    }
    const missing = [edges[0]!.id, edges[2]!.id, ...take(15)]
    const deletedHere = take(5)
    const stale = [edges[1]!.id, edges[3]!.id, ...take(15)]
    const q = (sql: string, params: unknown[] = []) => t.app.db.query(sql, params)
    await q('DELETE FROM public.hubspot_bookings WHERE hubspot_id = ANY($1::text[])', [missing])
    await q('UPDATE public.hubspot_bookings SET deleted_at = now() WHERE hubspot_id = ANY($1::text[])', [deletedHere])
    await q(
      `UPDATE public.hubspot_bookings SET hs_lastmodifieddate = hs_lastmodifieddate - interval '1 hour' WHERE hubspot_id = ANY($1::text[])`,
      [stale],
    )
    // Extras HubSpot never had: shorter ids (before every listed one, numerically) and longer ids past
    // the last: more than one read of the replica's last window.
    const exam = makeExam()
    const extras = [
      '7',
      String(1000 + Math.floor(rand() * 1000)),
      ...Array.from({ length: 1105 }, (_, i) => String(900_000_000_000 + i * 7 + Math.floor(rand() * 7))),
    ]
    await t.app.db.transaction(async (tx) => {
      for (let i = 0; i < extras.length; i += 500)
        await upsertBookings(
          tx,
          extras.slice(i, i + 500).map((id) => makeBooking(exam, { hubspot_id: id, booking_id: `extra-${id}` })),
          'manual',
        )
    })

    const report = await t.app.sync!.reconcile({ fix: false })
    const drift = report.objects.bookings
    expect(drift).toMatchObject({
      missing_in_replica: missing.length + deletedHere.length,
      stale_in_replica: stale.length,
      extra_in_replica: extras.length,
      hubspot_rows: 1200,
      replica_rows: 1200 - missing.length - deletedHere.length + extras.length,
    })
    expect(drift.samples.missing).toEqual(expect.arrayContaining(missing.slice(0, 2)))
    expect(drift.samples.extra.slice(0, 2)).toEqual(['7', extras[1]])

    const fixed = await t.app.sync!.reconcile({ fix: true })
    expect(fixed.fixed).toBe(missing.length + deletedHere.length + stale.length + extras.length)
    await expectReplicaMatches(t.app.db, t.emulator!)
    expect(await t.app.sync!.reconcile({ fix: false })).toMatchObject({
      missing_in_replica: 0,
      extra_in_replica: 0,
      stale_in_replica: 0,
    })
  })
})

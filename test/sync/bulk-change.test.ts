// A pull after a bulk change: the emulator stamps a batch update's 100 records with one timestamp, and the pull still reads 200 new records a search page.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startTestApp, type TestApp } from '../support/fixtures.js'
import { hubspot, listAll, OBJECT_TYPE } from '../support/hubspot-direct.js'

const CHANGED = 1_000

describe('sync: a pull after a bulk change', () => {
  let t: TestApp
  const searches = () =>
    Object.entries(t.emulator!.stats().byRoute)
      .filter(([route]) => route.endsWith('/search'))
      .reduce((sum, [, n]) => sum + n, 0)

  beforeAll(async () => {
    // Limits raised: this test counts calls, it does not wait out windows.
    t = await startTestApp({
      emulator: { seed: 3_000, rateLimit10s: 100_000, searchRatePerSecond: 1_000 },
      env: { HUBSPOT_RATE_LIMIT_10S: '100000', HUBSPOT_SEARCH_RATE_S: '1000' },
    })
    await t.app.sync!.backfill()
  })
  afterAll(() => t.close())

  it(`reads ${CHANGED.toLocaleString()} records changed 100 a batch in ~${CHANGED / 200} search pages, every one of them`, async () => {
    const bookings = (await listAll(t.emulator!, 'bookings', ['hs_object_id'])).slice(0, CHANGED)
    for (let i = 0; i < bookings.length; i += 100) {
      const inputs = bookings
        .slice(i, i + 100)
        .map((booking) => ({ id: booking.id, properties: { attending_location: 'Bulk moved' } }))
      await hubspot(t.emulator!, 'POST', `/crm/v3/objects/${OBJECT_TYPE.bookings}/batch/update`, { inputs })
    }
    const before = searches()
    const result = await t.app.sync!.pull({ reason: 'cli' })
    expect(result.objects.bookings).toMatchObject({ changed: CHANGED })
    const { rows } = await t.app.db.query<{ n: string }>(
      `SELECT count(*)::text AS n FROM public.hubspot_bookings WHERE attending_location = 'Bulk moved'`,
    )
    expect(Number(rows[0].n)).toBe(CHANGED)
    // Bookings: 5 full pages and the short last one; exams: one. Re-reading each page's last
    // timestamp (the 100 records of one batch) would take 10 pages for the bookings.
    const spent = searches() - before
    console.log(`${CHANGED} bulk-changed bookings pulled in ${spent} searches`)
    expect(spent).toBeLessThanOrEqual(CHANGED / 200 + 3)
  })
})

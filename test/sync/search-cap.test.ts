// An incremental pull over more than 10,000 modified records: search's 10,000-result cap never stops it.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startTestApp, type TestApp } from '../support/fixtures.js'
import { expectReplicaMatches } from '../support/replica-check.js'

describe('sync: past the 10,000-result search cap', () => {
  let t: TestApp
  beforeAll(async () => {
    // Limits raised for speed: this test is about the cap, not about rate limits.
    t = await startTestApp({
      emulator: { seed: 12_000, rateLimit10s: 100_000, searchRatePerSecond: 1_000 },
      env: { HUBSPOT_RATE_LIMIT_10S: '100000', HUBSPOT_SEARCH_RATE_S: '1000' },
    })
  })
  afterAll(() => t.close())

  it('pulls 12,000 bookings modified since an old cursor, all of them, with no 400', async () => {
    // As if backfilled long ago: every record was modified after this cursor.
    for (const type of ['exams', 'bookings']) {
      await t.app.db.query(
        'INSERT INTO hubmirror.sync_state (object_type, cursor_ms, archived_cursor_ms) VALUES ($1, $2, $2)',
        [type, Date.UTC(2025, 0, 1)],
      )
    }
    const result = await t.app.sync!.pull({ reason: 'cli' })
    expect(result).toMatchObject({ started: true, kind: 'incremental' })
    expect(result.objects.bookings).toMatchObject({ changed: 12_000 })
    expect(result.objects.exams).toMatchObject({ changed: 120 })
    const stats = t.emulator!.stats()
    expect(stats.byStatus['400']).toBeUndefined()
    expect(stats.byStatus['429']).toBeUndefined()
    // About one search per 199 records (200 a page, the anchor record read again).
    expect(result.objects.bookings!.calls).toBeLessThan(12_000 / 199 + 3)
    await expectReplicaMatches(t.app.db, t.emulator!)
    // The cursor is the newest modification seen, not the time of the pull.
    const status = await t.app.sync!.status()
    expect(status.objects.bookings.cursor!.startsWith('2026-01-01T')).toBe(true)
  })
})

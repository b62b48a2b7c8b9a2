// Pruning in batches: exactly the events past retention go, in many short statements; later events stay and replay; older cursors get refetch.
import { describe, expect, it } from 'vitest'
import type { ChangeEvent, CommittedEvent } from '../../src/model/records.js'
import { headSeq, prunedThrough, pruneEvents, readEvents } from '../../src/replica/index.js'
import { bearer, makeExam } from '../support/fixtures.js'
import { withQuery } from '../support/query-spy.js'
import { listeningApp, seqs } from '../support/streams.js'

describe('change log: pruning in batches', () => {
  const exam = makeExam()
  const live = listeningApp([exam])
  const db = () => live.t.app.db
  const poll = (after: string) =>
    fetch(`${live.url}/api/long-poll?after=${after}&timeout_ms=0`, { headers: bearer(live.t.token) })

  it('drops every event past retention and no other, a batch at a time, and keeps the replay/refetch rule', async () => {
    const start = await headSeq(db())
    const written: CommittedEvent[] = await live.book(exam, 23)
    expect(written).toHaveLength(23)
    // The first 17 are a month old; the other 6 are recent.
    const old = written.slice(0, 17)
    await db().query(`UPDATE hubmirror.replica_events SET created_at = now() - interval '30 days' WHERE seq <= $1`, [
      old.at(-1)!.seq,
    ])
    const statements: string[] = []
    const counting = withQuery(db(), (sql, params) => {
      statements.push(sql)
      return db().query(sql, params)
    })

    const dropped = await pruneEvents(counting, 7 * 86_400_000, 1, 4)
    // Everything up to the 17th of ours goes (with whatever the app logged before them).
    const remaining = Number(
      (await db().query<{ n: string }>('SELECT count(*)::text AS n FROM hubmirror.replica_events')).rows[0]!.n,
    )
    expect(await prunedThrough(db())).toBe(old.at(-1)!.seq)
    expect(dropped).toBeGreaterThanOrEqual(17)
    expect(statements.filter((sql) => sql.startsWith('DELETE')).length).toBeGreaterThanOrEqual(Math.ceil(17 / 4))
    // What is left is exactly the recent events, in order, and they replay from the boundary.
    const left = await readEvents(db(), { after: '0', limit: 1000 })
    expect(seqs(left)).toEqual(seqs(written.slice(17)))
    expect(remaining).toBe(6)
    const replay = await poll(old.at(-1)!.seq)
    expect(replay.status).toBe(200)
    expect(seqs(((await replay.json()) as { events: ChangeEvent[] }).events)).toEqual(seqs(written.slice(17)))
    // A cursor before the boundary may have missed pruned events: refetch, never a silent gap.
    for (const cursor of [start, old[3]!.seq, old.at(-2)!.seq]) {
      const gone = await poll(cursor)
      expect(gone.status, `cursor ${cursor}`).toBe(410)
      expect((await gone.json()).error).toMatchObject({ code: 'E_CURSOR_EXPIRED' })
    }
    // Nothing more is old enough: a second prune changes nothing.
    expect(await pruneEvents(db(), 7 * 86_400_000, 1, 4)).toBe(0)
    expect(seqs(await readEvents(db(), { after: '0', limit: 1000 }))).toEqual(seqs(written.slice(17)))
  })

  it('finishes a prune cut short: rows left below the boundary go the next time', async () => {
    const written = await live.book(exam, 9)
    await db().query(`UPDATE hubmirror.replica_events SET created_at = now() - interval '30 days' WHERE seq <= $1`, [
      written[5]!.seq,
    ])
    // The boundary was raised, then the process died after its first batch.
    let deletes = 0
    const dying = withQuery(db(), (sql, params) => {
      if (sql.startsWith('DELETE') && deletes++ === 1) return Promise.reject(new Error('killed'))
      return db().query(sql, params)
    })
    await expect(pruneEvents(dying, 7 * 86_400_000, 1, 2)).rejects.toThrow('killed')
    expect(await prunedThrough(db())).toBe(written[5]!.seq)
    expect(await pruneEvents(db(), 7 * 86_400_000, 1, 2)).toBeGreaterThan(0)
    expect(seqs(await readEvents(db(), { after: '0', limit: 1000 }))).toEqual(seqs(written.slice(6)))
  })
})

// Jepsen-style: a seeded random mix of conflicting writes on two instances, HubSpot faults toggled, every invariant checked after.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Faults, RunningEmulator } from '../../src/emulator/index.js'
import { SEAT_HOLDING_STATUSES } from '../../src/model/records.js'
import { startTestEmulator } from '../support/fixtures.js'
import {
  call,
  compareWithHubSpot,
  fmt,
  hubspotObjects,
  prng,
  recordFigures,
  resilienceServers,
  seedFromEnv,
  withDb,
  type Answer,
  type ResilienceServers,
} from '../support/resilience-harness.js'
import { load, profile } from './profile.js'
import { serversCountersSettled } from '../support/counters.js'

const RATE_LIMIT = 400
const EXAMS = 4
const CONCURRENCY = 16
const SEED = seedFromEnv(12_012)
/** HubSpot's moods during the run, switched every FAULT_EVERY operations (none, slow, 429s, 5xx, all). */
const MOODS: Array<{ name: string; faults: Partial<Faults> }> = [
  { name: 'calm', faults: {} },
  { name: 'slow', faults: { latencyMs: 400 } },
  { name: 'very slow', faults: { latencyMs: 1_000 } },
  { name: '429s', faults: { rate429: 0.2 } },
  { name: '5xx', faults: { rate5xx: 0.1 } },
  { name: 'all', faults: { latencyMs: 200, rate429: 0.1, rate5xx: 0.05 } },
]
const FAULT_EVERY = 250
/** Answers a conflict may get: anything else that is not 2xx is a violation. */
const CLEAN_REFUSALS = new Set([
  'E_EXAM_FULL',
  'E_EXAM_INACTIVE',
  'E_ALREADY_CANCELLED',
  'E_BOOKING_CANCELLED',
  'E_CANCEL_IN_PROGRESS',
  'E_CAPACITY_BELOW_BOOKINGS',
  'E_WRITE_IN_PROGRESS',
  'E_IDEMPOTENCY_KEY_REUSED',
  'E_HUBSPOT_UNAVAILABLE',
  'E_HUBSPOT_RATE_LIMITED',
  'E_HUBSPOT_REJECTED',
  'E_RATE_LIMITED',
])

interface Student {
  name: string
  email: string
}

describe('write path interleavings [I1–I10]', () => {
  let emulator: RunningEmulator
  let cluster: ResilienceServers

  beforeAll(async () => {
    emulator = await startTestEmulator({ rateLimit10s: RATE_LIMIT })
    cluster = await resilienceServers('interleavings', {
      hubspotUrl: emulator.url,
      env: { HUBSPOT_RATE_LIMIT_10S: String(RATE_LIMIT) },
    })
    await cluster.start(0)
    await cluster.start(1)
  }, 180_000)
  afterAll(async () => {
    await cluster?.stop('SIGTERM')
    await emulator?.close()
    await cluster?.remove()
  })

  it(`holds every invariant over ${fmt(load.interleavingOps)} random conflicting writes (seed ${SEED})`, async () => {
    console.log(`interleavings: seed ${SEED} (replay with RESILIENCE_SEED=${SEED}), profile ${profile}`)
    const started = Date.now()
    const { database, servers, token } = cluster
    const random = prng(SEED)
    const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)]
    const int = (lo: number, hi: number) => lo + Math.floor(random() * (hi - lo + 1))
    const instances = servers.map((server, i) => ({ name: 'AB'[i], url: server.url }))
    const violations: string[] = []
    const counts = { ops: 0, answered2xx: 0, refused: new Map<string, number>(), byKind: new Map<string, number>() }
    const send = async (
      kind: string,
      method: string,
      path: string,
      body?: unknown,
      headers?: Record<string, string>,
    ) => {
      const on = pick(instances)
      const answer: Answer = await callWith(on.url, method, path, body, headers)
      counts.ops += 1
      counts.byKind.set(kind, (counts.byKind.get(kind) ?? 0) + 1)
      const code: string | undefined = answer.body?.error?.code
      if (answer.status >= 200 && answer.status < 300) counts.answered2xx += 1
      else if (
        answer.status === 0 || answer.status >= 500 ? !code?.startsWith('E_HUBSPOT') : !CLEAN_REFUSALS.has(code ?? '')
      )
        violations.push(`[I4] ${on.name} ${kind} ${method} ${path} → ${answer.status} ${JSON.stringify(answer.body)}`)
      else counts.refused.set(code as string, (counts.refused.get(code as string) ?? 0) + 1)
      return answer
    }
    const callWith = (base: string, method: string, path: string, body?: unknown, headers?: Record<string, string>) =>
      headers ? callHeaders(base, method, path, body, headers) : call(base, token, method, path, body)
    const callHeaders = async (
      base: string,
      method: string,
      path: string,
      body: unknown,
      headers: Record<string, string>,
    ): Promise<Answer> => {
      const t0 = Date.now()
      try {
        const response = await fetch(base + path, {
          method,
          headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json', ...headers },
          body: JSON.stringify(body),
          signal: AbortSignal.timeout(60_000),
        })
        return { status: response.status, body: await response.json(), ms: Date.now() - t0 }
      } catch (error) {
        return { status: 0, body: null, ms: Date.now() - t0, error: String(error) }
      }
    }

    // The exams, small, so that capacity is always in play.
    const examIds: string[] = []
    for (let i = 0; i < EXAMS; i++) {
      const created = await call(instances[0].url, token, 'POST', '/api/mock-exams', {
        mock_exam_name: `Interleavings ${i}`,
        mock_type: 'Clinical Skills',
        exam_date: '2026-12-20',
        start_time: '09:00',
        end_time: '12:00',
        location: 'Calgary',
        capacity: int(3, 8),
      })
      expect(created.status, JSON.stringify(created.body)).toBe(201)
      examIds.push(created.body.exam.hubspot_id)
    }

    // What the clients were told: bookings acknowledged, keys and the request each first stood for.
    const bookings: Array<{ id: string; examId: string }> = []
    const acknowledgedCreates = new Map<string, { key: string; student: Student }>()
    const acknowledgedCancels = new Set<string>()
    const keys: Array<{ key: string; examId: string; student: Student; owner: Student | null }> = []
    let n = 0

    const create = async () => {
      const examId = pick(examIds)
      const roll = random()
      let key: string | null
      let student: Student
      let examForKey = examId
      if (roll < 0.15 && keys.length) {
        // A correct retry: the same key, the same request.
        const used = pick(keys)
        ;({ key, student } = used)
        examForKey = used.examId
      } else if (roll < 0.3 && keys.length) {
        // A wrong reuse: another student under someone's key.
        const used = pick(keys)
        key = used.key
        examForKey = used.examId
        student = { name: `Other ${++n}`, email: `other${n}@example.com` }
      } else {
        key = roll < 0.9 ? `ik-${SEED}-${++n}` : null
        student = { name: `Student ${++n}`, email: `student${n}@example.com` }
        if (key) keys.push({ key, examId, student, owner: null })
      }
      const body = { examId: examForKey, student_name: student.name, student_email: student.email }
      const inHeader = key !== null && random() < 0.5
      const answer = await send(
        'create',
        'POST',
        '/api/bookings',
        key && !inHeader ? { ...body, booking_id: key } : body,
        key && inHeader ? { 'idempotency-key': key } : undefined,
      )
      if (answer.status !== 200 && answer.status !== 201) return
      const booking = answer.body.booking as { hubspot_id: string; student_email: string; booking_id: string }
      // [I7] A 2xx under a key must be that key's one request, and the answer must be about this student.
      if (booking.student_email !== student.email)
        violations.push(`[I7] key ${key} answered 2xx for ${student.email} with ${booking.student_email}'s booking`)
      if (key) {
        const entry = keys.find((k) => k.key === key)
        if (entry?.owner && entry.owner.email !== student.email)
          violations.push(`[I7] key ${key} of ${entry.owner.email} silently reused by ${student.email}`)
        if (entry && !entry.owner) entry.owner = student
      }
      if (answer.status === 201) {
        if (acknowledgedCreates.has(booking.hubspot_id))
          violations.push(`[I3] booking ${booking.hubspot_id} created twice`)
        acknowledgedCreates.set(booking.hubspot_id, { key: booking.booking_id, student })
        bookings.push({ id: booking.hubspot_id, examId: examForKey })
      }
    }
    const cancel = async () => {
      if (!bookings.length) return
      const { id } = pick(bookings)
      const answer = await send('cancel', 'POST', `/api/bookings/${id}/cancel`)
      if (answer.status === 200) acknowledgedCancels.add(id)
    }
    const batchCancel = async () => {
      if (!bookings.length) return
      // Aimed at ids being cancelled elsewhere: recent bookings, duplicates included.
      const recent = bookings.slice(-12)
      const ids = Array.from({ length: int(2, 6) }, () => pick(recent).id)
      const answer = await send('batch-cancel', 'POST', '/api/bookings/batch-cancel', { bookingIds: ids })
      if (answer.status !== 200) return
      const results = answer.body.results as Array<{ id: string; success: boolean; outcome: string }>
      if (results.length !== new Set(ids).size || new Set(results.map((r) => r.id)).size !== results.length)
        violations.push(`[I5] batch-cancel of ${ids.join(',')} reported ${results.length} rows`)
      for (const r of results) {
        if (r.success) acknowledgedCancels.add(r.id)
        else if (!CLEAN_REFUSALS.has(r.outcome)) violations.push(`[I5] batch-cancel row ${r.id}: ${r.outcome}`)
      }
    }
    const ATTENDANCE = ['attended', 'no_show', null] as const
    const attendance = async () => {
      if (!bookings.length) return
      // Aimed at recent bookings, the ones cancels are aimed at too.
      const { id } = pick(bookings.slice(-12))
      await send('attendance', 'PATCH', `/api/bookings/${id}`, { attendance: pick(ATTENDANCE) })
    }
    const batchAttendance = async () => {
      if (!bookings.length) return
      const ids = [...new Set(Array.from({ length: int(2, 5) }, () => pick(bookings.slice(-12)).id))]
      const answer = await send('batch-attendance', 'POST', '/api/bookings/batch-attendance', {
        updates: ids.map((id) => ({ id, attendance: pick(ATTENDANCE) })),
      })
      if (answer.status !== 200) return
      const results = answer.body.results as Array<{ id: string; success: boolean; outcome: string }>
      if (results.length !== ids.length)
        violations.push(`[I5] batch-attendance of ${ids.length} reported ${results.length}`)
      for (const r of results)
        if (!r.success && !CLEAN_REFUSALS.has(r.outcome))
          violations.push(`[I5] batch-attendance row ${r.id}: ${r.outcome}`)
    }
    const capacity = async () => {
      const examId = pick(examIds)
      const held = bookings.filter((b) => b.examId === examId && !acknowledgedCancels.has(b.id)).length
      await send('capacity', 'PATCH', `/api/mock-exams/${examId}`, { capacity: Math.max(1, held + int(-2, 3)) })
    }
    const activate = async () => {
      await send('activate', 'POST', `/api/mock-exams/${pick(examIds)}/activate`, { is_active: random() < 0.6 })
    }
    const read = async () => {
      await send('read', 'GET', `/api/mock-exams/${pick(examIds)}`)
    }

    const moods: string[] = []
    let next = 0
    const worker = async () => {
      while (next < load.interleavingOps) {
        const i = next++
        if (i % FAULT_EVERY === 0) {
          const mood = pick(MOODS)
          emulator.clearFaults()
          emulator.setFaults(mood.faults)
          moods.push(mood.name)
        }
        const roll = random()
        if (roll < 0.35) await create()
        else if (roll < 0.48) await cancel()
        else if (roll < 0.56) await batchCancel()
        else if (roll < 0.66) await attendance()
        else if (roll < 0.71) await batchAttendance()
        else if (roll < 0.84) await capacity()
        else if (roll < 0.92) await activate()
        else await read()
      }
    }
    await Promise.all(Array.from({ length: CONCURRENCY }, worker))
    emulator.clearFaults()
    const loadMs = Date.now() - started

    // [I4] no 500, no dropped connection; a 500's cause is in the servers' logs, printed with the failure.
    if (violations.length)
      for (const [i, server] of servers.entries())
        console.log(
          `server ${'AB'[i]} errors:\n${server
            .output()
            .split('\n')
            .filter((line) => line.includes('"level":50'))
            .slice(0, 20)
            .join('\n')}`,
        )
    expect(violations).toEqual([])

    // [I9] HubSpot = replica (ids, versions, statuses, total_bookings = confirmed on both sides).
    // total_bookings follows the answers (exam-counter.ts): what the servers still owe lands first.
    await serversCountersSettled(servers, cluster.token)
    const comparison = await compareWithHubSpot(database.url, emulator.url)
    expect(comparison.mismatches).toEqual([])

    // [I3] every acknowledged create in HubSpot exactly once, and nothing there that was not acknowledged;
    // every acknowledged cancel cancelled.
    const inHubSpot = await hubspotObjects(emulator.url, 'bookings')
    const hubspotIds = new Set(inHubSpot.map((b) => b.id))
    const missing = [...acknowledgedCreates.keys()].filter((id) => !hubspotIds.has(id))
    const unacknowledged = inHubSpot.filter((b) => !acknowledgedCreates.has(b.id)).map((b) => b.id)
    expect({ missing, unacknowledged }).toEqual({ missing: [], unacknowledged: [] })
    const status = new Map(inHubSpot.map((b) => [b.id, b.properties.booking_status]))
    expect([...acknowledgedCancels].filter((id) => status.get(id) !== 'cancelled')).toEqual([])
    for (const b of inHubSpot) {
      const acked = acknowledgedCreates.get(b.id)!
      expect(b.properties.student_email).toBe(acked.student.email)
    }

    // API = replica, on both instances.
    const replica = await withDb(database.url, async (client) =>
      (
        await client.query<{ hubspot_id: string; booking_status: string }>(
          'SELECT hubspot_id, booking_status FROM public.hubspot_bookings WHERE deleted_at IS NULL ORDER BY hubspot_id',
        )
      ).rows.map((r) => `${r.hubspot_id}:${r.booking_status}`),
    )
    for (const on of instances) {
      const seen: string[] = []
      for (const examId of examIds) {
        const answer = await call(on.url, token, 'GET', `/api/mock-exams/${examId}/bookings`)
        expect(answer.status).toBe(200)
        for (const b of answer.body.bookings as Array<{ hubspot_id: string; booking_status: string }>)
          seen.push(`${b.hubspot_id}:${b.booking_status}`)
      }
      expect(seen.sort(), `API on ${on.name}`).toEqual(replica)
    }

    // [I1] capacity never exceeded in any committed state: replay the change log, checking after each event.
    const log = await withDb(
      database.url,
      async (client) =>
        (
          await client.query<{
            seq: string
            kind: string
            op: string
            hubspot_id: string
            row_data: Record<string, any>
            changes: Record<string, [unknown, unknown]> | null
          }>(
            `SELECT seq::text, kind, op, hubspot_id, row_data, changes FROM hubmirror.replica_events ORDER BY replica_events.seq`,
          )
        ).rows,
    )
    const capacityOf = new Map<string, number | null>()
    const seatOf = new Map<string, string | null>()
    const heldBy = (examId: string) => [...seatOf.values()].filter((e) => e === examId).length
    let overbooked = 0
    let peakUse = 0
    const check = (seq: string, examId: string | undefined) => {
      const cap = examId ? capacityOf.get(examId) : null
      if (!examId || typeof cap !== 'number') return
      const held = heldBy(examId)
      peakUse = Math.max(peakUse, held / cap)
      if (held > cap) {
        overbooked += 1
        violations.push(`[I1] seq ${seq}: exam ${examId} holds ${held} seats at capacity ${cap}`)
      }
    }
    // [I10] no attendance change after a booking's cancel (nothing here re-confirms a booking).
    const cancelledAt = new Map<string, string>()
    let attendanceChanges = 0
    for (const event of log) {
      if (event.kind !== 'booking') continue
      if (event.changes?.attendance) {
        attendanceChanges += 1
        if (cancelledAt.has(event.hubspot_id))
          violations.push(
            `[I10] seq ${event.seq}: attendance of ${event.hubspot_id} changed after its cancel at seq ${cancelledAt.get(event.hubspot_id)}`,
          )
      }
      if (event.row_data?.booking_status === 'cancelled' && !cancelledAt.has(event.hubspot_id))
        cancelledAt.set(event.hubspot_id, event.seq)
    }
    for (const event of log) {
      if (event.kind === 'exam') {
        capacityOf.set(event.hubspot_id, event.op === 'delete' ? null : event.row_data?.capacity)
        check(event.seq, event.hubspot_id)
      } else {
        const holds =
          event.op !== 'delete' &&
          SEAT_HOLDING_STATUSES.includes(event.row_data?.booking_status) &&
          !event.row_data?.deleted_at
        seatOf.set(event.hubspot_id, holds ? event.row_data.mock_exam_id : null)
        check(event.seq, event.row_data?.mock_exam_id as string | undefined)
      }
    }
    expect(violations).toEqual([])
    // And in HubSpot, as it stands.
    const exams = await hubspotObjects(emulator.url, 'exams')
    for (const exam of exams) {
      const confirmed = inHubSpot.filter(
        (b) => b.properties.mock_exam_id === exam.id && b.properties.booking_status === 'confirmed',
      ).length
      expect(confirmed, `exam ${exam.id} in HubSpot`).toBeLessThanOrEqual(Number(exam.properties.capacity))
    }

    const figures = {
      seed: SEED,
      instances: 2,
      ops: counts.ops,
      byKind: Object.fromEntries(counts.byKind),
      answered2xx: counts.answered2xx,
      refused: Object.fromEntries(counts.refused),
      bookingsAcknowledged: acknowledgedCreates.size,
      cancelsAcknowledged: acknowledgedCancels.size,
      keysIssued: keys.length,
      logEvents: log.length,
      attendanceChanges,
      peakSeatUse: Math.round(peakUse * 100) / 100,
      overbookedStates: overbooked,
      moods,
      loadMs,
      violations: 0,
    }
    console.log('interleavings figures', JSON.stringify(figures))
    const refused = [...counts.refused].map(([code, k]) => `${fmt(k)}× ${code}`).join(', ')
    recordFigures({
      scenario: `interleavings-${SEED}`,
      order: 6,
      title: `Interleavings (seed ${SEED})`,
      load: `${fmt(counts.ops)} random operations on 2 instances, ${CONCURRENCY} at a time, in ${(loadMs / 1000).toFixed(0)} s: ${[...counts.byKind].map(([k, v]) => `${fmt(v)} ${k}`).join(', ')}; keys reused correctly and wrongly; batch-cancels aimed at recent ids with duplicates; capacity moved around the seats taken`,
      faults: `HubSpot's mood switched every ${FAULT_EVERY} operations (${[...new Set(moods)].join(', ')}: latency up to 1 s, 429s, 5xx); rate limit ${RATE_LIMIT}/10 s`,
      checked: `0 violations: no 500 or dropped answer (refusals: ${refused}); 0 silent key reuse; ${fmt(acknowledgedCreates.size)} acknowledged bookings each once in HubSpot, 0 unacknowledged; ${fmt(acknowledgedCancels.size)} acknowledged cancels cancelled; replica = HubSpot = API on both instances; capacity never exceeded in any of ${fmt(log.length)} change-log states (peak use ${Math.round(peakUse * 100)}%) nor in HubSpot; ${fmt(attendanceChanges)} attendance changes, none after its booking's cancel`,
      durationMs: Date.now() - started,
      figures: { ...figures, profile },
    })
  }, 3_600_000)
})

// A kill -9 between the HubSpot write and the replica commit: after restart, nothing is lost or doubled.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { loadConfig } from '../../src/config/index.js'
import type { RunningEmulator } from '../../src/emulator/index.js'
import { issueToken, PERMISSIONS } from '../../src/http/jwt.js'
import { migrate, openReplica, upsertExams } from '../../src/replica/index.js'
import { startChildServer } from '../support/child-server.js'
import { freshDatabase, tempDir, type TestDatabase, testNamespace } from '../support/env.js'
import { makeExam, startTestEmulator } from '../support/fixtures.js'

describe('crash between HubSpot and the replica', () => {
  let emulator: RunningEmulator
  let database: TestDatabase
  const dataDir = tempDir()
  const secret = 'crash-test-secret-crash-test-secret'
  const token = issueToken(secret, PERMISSIONS)
  let examId: string
  let env: Record<string, string | undefined>

  beforeAll(async () => {
    emulator = await startTestEmulator()
    database = await freshDatabase()
    const created = await (
      await fetch(`${emulator.url}/crm/v3/objects/mock_exams`, {
        method: 'POST',
        headers: { authorization: 'Bearer x', 'content-type': 'application/json' },
        body: JSON.stringify({
          properties: {
            mock_exam_name: 'Clinical Skills',
            mock_type: 'Clinical Skills',
            exam_date: '2026-12-19',
            start_time: '09:00',
            end_time: '12:00',
            location: 'Montreal',
            capacity: '5',
            total_bookings: '0',
            is_active: 'true',
          },
        }),
      })
    ).json()
    examId = created.id
    env = {
      HUBMIRROR_DATA_DIR: dataDir.path,
      HUBMIRROR_JWT_SECRET: secret,
      HUBSPOT_ACCESS_TOKEN: 'x',
      HUBSPOT_BASE_URL: emulator.url,
      DATABASE_URL: database.url ?? undefined,
      REDIS_URL: process.env.REDIS_URL,
      HUBMIRROR_REDIS_NAMESPACE: testNamespace('crash'),
    }
    // Put the exam in the replica as the sync engine would have.
    const db = await openReplica(loadConfig(env))
    await migrate(db)
    await db.transaction((tx) =>
      upsertExams(
        tx,
        [
          makeExam({
            hubspot_id: examId,
            capacity: 5,
            location: 'Montreal',
            hs_lastmodifieddate: created.properties.hs_lastmodifieddate,
          }),
        ],
        'manual',
      ),
    )
    await db.close()
  })
  afterAll(async () => {
    await emulator?.close()
    await database?.drop()
    dataDir.remove()
  })

  const book = (url: string) =>
    fetch(`${url}/api/bookings`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify({
        examId,
        booking_id: 'crash-key-0001',
        student_name: 'Grace Hopper',
        student_email: 'grace@example.com',
      }),
    })
  /** The exam's bookings in HubSpot; the server's own searches share the 5-per-second search limit, so a 429 waits its turn. */
  const inHubSpot = async (): Promise<unknown[]> => {
    for (;;) {
      const response = await fetch(`${emulator.url}/crm/v3/objects/bookings/search`, {
        method: 'POST',
        headers: { authorization: 'Bearer x', 'content-type': 'application/json' },
        body: JSON.stringify({
          filterGroups: [{ filters: [{ propertyName: 'mock_exam_id', operator: 'EQ', value: examId }] }],
          properties: ['booking_id'],
        }),
      })
      if (response.status !== 429) {
        expect(response.status).toBe(200)
        return (await response.json()).results
      }
      await new Promise((resolve) => setTimeout(resolve, 1_000 * Number(response.headers.get('retry-after') ?? 1)))
    }
  }

  it('recovers the booking from HubSpot at restart, once, and replays the retry', async () => {
    const doomed = await startChildServer({ ...env, HUBMIRROR_CRASH_AFTER_HUBSPOT: 'booking.create' })
    await expect(book(doomed.url)).rejects.toThrow()
    expect(await doomed.exited).toBe('SIGKILL')
    expect(await inHubSpot()).toHaveLength(1)

    const revived = await startChildServer(env)
    try {
      const headers = { authorization: `Bearer ${token}` }
      const bookings = (await (await fetch(`${revived.url}/api/mock-exams/${examId}/bookings`, { headers })).json())
        .bookings
      expect(bookings.map((b: { booking_id: string }) => b.booking_id)).toEqual(['crash-key-0001'])
      expect(
        (await (await fetch(`${revived.url}/api/mock-exams/${examId}`, { headers })).json()).exam.total_bookings,
      ).toBe(1)
      const retry = await book(revived.url)
      expect(retry.status).toBe(200)
      expect((await retry.json()).replayed).toBe(true)
      expect(await inHubSpot()).toHaveLength(1)
    } finally {
      await revived.kill('SIGTERM')
    }
  }, 120_000)
})

// State lives in the data dir: a restart keeps every change and does not reseed.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { startEmulator } from '../../src/emulator/index.js'
import { Persistence } from '../../src/emulator/persistence.js'
import { MOCK_EXAMS } from '../../src/emulator/schema.js'
import { seedStore } from '../../src/emulator/seed.js'
import { Store } from '../../src/emulator/store.js'

const dataDir = mkdtempSync(join(tmpdir(), 'hubmirror-emulator-'))
afterAll(() => rmSync(dataDir, { recursive: true, force: true }))

const headers = { authorization: 'Bearer p', 'content-type': 'application/json' }

/** How many bookings the emulator at `url` holds, by an unfiltered search. */
const searchTotal = async (url: string): Promise<number> =>
  (
    (await (await fetch(`${url}/crm/v3/objects/bookings/search`, { method: 'POST', headers, body: '{}' })).json()) as {
      total: number
    }
  ).total

describe('persistence', () => {
  it('survives a restart with the same data dir, without reseeding', async () => {
    const first = await startEmulator({ dataDir, seed: 200 })
    const created = await (
      await fetch(`${first.url}/crm/v3/objects/bookings`, {
        method: 'POST',
        headers,
        body: JSON.stringify({ properties: { booking_id: 'KEEP-1', booking_status: 'confirmed' } }),
      })
    ).json()
    const archivedId = '30000000012' // ten contacts and an exam come first
    expect(
      (await fetch(`${first.url}/crm/v3/objects/bookings/${archivedId}`, { method: 'DELETE', headers })).status,
    ).toBe(204)
    await first.close()

    const second = await startEmulator({ dataDir, seed: 'demo' })
    try {
      const read = await fetch(
        `${second.url}/crm/v3/objects/bookings/KEEP-1?idProperty=booking_id&properties=booking_status`,
        { headers },
      )
      const body = await read.json()
      expect(body.id).toBe(created.id)
      expect(body.properties.booking_status).toBe('confirmed')
      expect(body.updatedAt).toBe(created.updatedAt)
      expect((await fetch(`${second.url}/crm/v3/objects/bookings/${archivedId}`, { headers })).status).toBe(404)
      const total = await searchTotal(second.url)
      expect(total).toBe(200)
      const next = await (
        await fetch(`${second.url}/crm/v3/objects/bookings`, {
          method: 'POST',
          headers,
          body: JSON.stringify({ properties: { booking_id: 'KEEP-2' } }),
        })
      ).json()
      expect(Number(next.id)).toBeGreaterThan(Number(created.id))
      const linked = await (
        await fetch(`${second.url}/crm/v4/objects/bookings/30000000013/associations/mock_exams`, { headers })
      ).json()
      expect(linked.results).toHaveLength(1)
    } finally {
      await second.close()
    }
  })

  it('loads a data dir saved by earlier versions as one JSON document, links included', async () => {
    const legacyDir = mkdtempSync(join(tmpdir(), 'hubmirror-emulator-legacy-'))
    try {
      const store = new Store()
      seedStore(store, 150)
      writeFileSync(join(legacyDir, 'hubspot-emulator.json'), JSON.stringify(store.save()))
      const emulator = await startEmulator({ dataDir: legacyDir, seed: 'demo' })
      try {
        const exam = store.list(MOCK_EXAMS)[1]!
        const linked = await (
          await fetch(`${emulator.url}/crm/v4/objects/mock_exams/${exam.id}/associations/bookings`, { headers })
        ).json()
        expect(linked.results).toHaveLength(50)
        const total = await searchTotal(emulator.url)
        expect(total).toBe(150)
      } finally {
        await emulator.close()
      }
      // Saved again in the line format, which loads back to the same state.
      const reloaded = new Store()
      const persistence = new Persistence(legacyDir, reloaded)
      expect(persistence.load()).toBe(true)
      expect(JSON.stringify(reloaded.save())).toBe(JSON.stringify(store.save()))
    } finally {
      rmSync(legacyDir, { recursive: true, force: true })
    }
  })
})

// The emulator's command line: flags reach the running server, and the URL is printed.
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it, vi } from 'vitest'
import { runEmulatorCli } from '../../src/emulator/index.js'

const dataDir = mkdtempSync(join(tmpdir(), 'hubmirror-emulator-cli-'))
afterAll(() => rmSync(dataDir, { recursive: true, force: true }))

describe('runEmulatorCli', () => {
  it('starts with the given port, data dir, seed, token and limits, and prints its URL', async () => {
    const log = vi.spyOn(console, 'log').mockImplementation(() => {})
    const emulator = await runEmulatorCli([
      '--port',
      '0',
      '--data-dir',
      dataDir,
      '--seed',
      '250',
      '--token',
      'T',
      '--rate-limit-10s',
      '7',
      '--search-rate-s',
      '9',
      '--daily-limit',
      '1234',
      '--search-lag-ms',
      '5',
    ])
    try {
      expect(log.mock.calls.flat().join('\n')).toContain(emulator.url)
      const res = await fetch(`${emulator.url}/crm/v3/objects/bookings?limit=1`, {
        headers: { authorization: 'Bearer T' },
      })
      expect(res.status).toBe(200)
      expect(res.headers.get('x-hubspot-ratelimit-max')).toBe('7')
      expect(res.headers.get('x-hubspot-ratelimit-daily')).toBe('1234')
      // With --token the admin routes need it too.
      expect((await fetch(`${emulator.url}/_emulator/config`)).status).toBe(401)
      const config = await (
        await fetch(`${emulator.url}/_emulator/config`, { headers: { authorization: 'Bearer T' } })
      ).json()
      expect(config).toMatchObject({
        limits: { rateLimit10s: 7, searchRatePerSecond: 9, dailyLimit: 1234 },
        searchLagMs: 5,
      })
      expect(
        (await fetch(`${emulator.url}/crm/v3/schemas`, { headers: { authorization: 'Bearer other' } })).status,
      ).toBe(401)
    } finally {
      await emulator.close()
      log.mockRestore()
    }
  })

  it('rejects a bad seed', async () => {
    await expect(runEmulatorCli(['--port', '0', '--data-dir', 'none', '--seed', 'lots'])).rejects.toThrow(/seed/)
  })
})

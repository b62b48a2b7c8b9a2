// server.json holds the emulator's token: 0600 on every write, also over an older, looser file.
import { chmodSync, lstatSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { serverRecordPath, writeServerRecord, type ServerRecord } from './running-server.js'

const dirs: string[] = []
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true })
})

const record: ServerRecord = {
  pid: 1,
  url: 'http://127.0.0.1:3000',
  emulator_url: 'http://127.0.0.1:4000',
  emulator_token: 'a-random-token-a-random-token-ab',
  embedded_database: true,
  started_at: '2026-01-01T00:00:00.000Z',
}

describe.skipIf(process.platform === 'win32')('writeServerRecord', () => {
  it('writes 0600 in a 0700 folder, and makes an existing 0644 record 0600 again', () => {
    const dir = join(mkdtempSync(join(tmpdir(), 'hubmirror-record-')), 'data')
    dirs.push(join(dir, '..'))
    writeServerRecord(dir, record)
    expect(lstatSync(dir).mode & 0o777).toBe(0o700)
    expect(lstatSync(serverRecordPath(dir)).mode & 0o777).toBe(0o600)

    writeFileSync(serverRecordPath(dir), '{}')
    chmodSync(serverRecordPath(dir), 0o644)
    writeServerRecord(dir, { ...record, pid: 2 })
    expect(lstatSync(serverRecordPath(dir)).mode & 0o777).toBe(0o600)
    expect(JSON.parse(readFileSync(serverRecordPath(dir), 'utf8'))).toMatchObject({
      pid: 2,
      emulator_token: record.emulator_token,
    })
  })
})

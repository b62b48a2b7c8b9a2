// Malformed URLs sent as raw request lines (no client library to clean them up) get a 4xx, never a 500.
import { mkdirSync, writeFileSync } from 'node:fs'
import { connect } from 'node:net'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createApp, type App } from '../../src/app.js'
import { freshDatabase, tempDir, testConfig, type TestDatabase } from '../support/env.js'

/** Sends one raw request line and returns the status code of the answer. */
function rawStatus(port: number, target: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1', () =>
      socket.write(`GET ${target} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n`),
    )
    let text = ''
    socket.on('data', (chunk) => (text += chunk.toString('latin1')))
    socket.on('end', () => resolve(Number(/^HTTP\/1\.1 (\d{3})/.exec(text)?.[1] ?? 0)))
    socket.on('error', reject)
  })
}

describe('bad URL escapes', () => {
  let app: App
  let database: TestDatabase
  let port: number
  const dist = tempDir('hubmirror-web-')

  beforeAll(async () => {
    mkdirSync(join(dist.path, 'assets'))
    writeFileSync(join(dist.path, 'index.html'), '<!doctype html><title>hubmirror</title>')
    writeFileSync(join(dist.path, 'assets', 'app.js'), 'console.log(1)')
    database = await freshDatabase()
    app = await createApp({ config: testConfig({ databaseUrl: database.url }), inMemoryDb: true, webDist: dist.path })
    port = Number(new URL(await app.listen()).port)
  })
  afterAll(async () => {
    await app.close()
    await database.drop()
    dist.remove()
  })

  it('answers 400 (not 500) to malformed percent-escapes on every kind of route', async () => {
    for (const target of [
      '/x#%E0',
      '/%E0',
      '/assets/%zz.js',
      '/a%',
      '/api/mock-exams/%E0',
      '/api/events?exam_id=%E0',
    ]) {
      const status = await rawStatus(port, target)
      expect([400, 401, 404], `${target} → ${status}`).toContain(status)
    }
    expect(await rawStatus(port, '/x#%E0')).toBe(400)
    // Still serving the dashboard.
    expect(await rawStatus(port, '/assets/app.js')).toBe(200)
    expect(await rawStatus(port, '/some/page')).toBe(200)
  })
})

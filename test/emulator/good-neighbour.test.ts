// The emulator as a good neighbour of the API it shares a process with: admin routes guarded, Host checked, seeding yields.
import { request } from 'node:http'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startEmulator, type RunningEmulator } from '../../src/emulator/index.js'

/** node:http, because fetch will not send a Host header of our choosing. */
function withHost(url: string, host: string, path: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request(`${url}${path}`, { headers: { host, authorization: 'Bearer secret-token' } }, (res) => {
      res.resume()
      resolve(res.statusCode ?? 0)
    })
    req.on('error', reject)
    req.end()
  })
}

describe('emulator good neighbour', () => {
  let e: RunningEmulator
  const auth = { authorization: 'Bearer secret-token' }

  beforeAll(async () => {
    e = await startEmulator({ port: 0, dataDir: null, seed: 'none', token: 'secret-token' })
  })
  afterAll(() => e.close())

  it('puts /_emulator/* behind the token when one is set', async () => {
    expect((await fetch(`${e.url}/_emulator/stats`)).status).toBe(401)
    expect((await fetch(`${e.url}/_emulator/reset`, { method: 'POST' })).status).toBe(401)
    expect((await fetch(`${e.url}/_emulator/stats`, { headers: { authorization: 'Bearer wrong' } })).status).toBe(401)
    expect((await fetch(`${e.url}/_emulator/stats`, { headers: auth })).status).toBe(200)
  })

  it('takes JSON only, and refuses pages of other origins', async () => {
    const post = (headers: Record<string, string>, body?: string) =>
      fetch(`${e.url}/_emulator/faults`, { method: 'POST', headers: { ...auth, ...headers }, body })
    expect((await post({ 'content-type': 'text/plain' }, '{"latencyMs":5000}')).status).toBe(415)
    expect((await post({ 'content-type': 'application/x-www-form-urlencoded' }, 'latencyMs=5000')).status).toBe(415)
    expect(
      (await post({ 'content-type': 'application/json', origin: 'http://evil.example' }, '{"latencyMs":5000}')).status,
    ).toBe(403)
    expect((await (await fetch(`${e.url}/_emulator/faults`, { headers: auth })).json()).latencyMs).toBe(0)
    expect((await post({ 'content-type': 'application/json' }, '{"latencyMs":1}')).status).toBe(200)
    e.clearFaults()
  })

  it('answers only for the Host it is bound to (DNS rebinding)', async () => {
    expect(await withHost(e.url, 'evil.example', '/_emulator/health')).toBe(403)
    expect(await withHost(e.url, 'evil.example:80', '/crm/v3/objects/contacts')).toBe(403)
    expect(await withHost(e.url, `localhost:${e.port}`, '/_emulator/health')).toBe(200)
    expect(await withHost(e.url, `127.0.0.1:${e.port}`, '/crm/v3/objects/contacts')).toBe(200)
  })

  it('seeds in chunks that let the event loop through, with an upper bound', async () => {
    const tooMany = await fetch(`${e.url}/_emulator/seed`, {
      method: 'POST',
      headers: { ...auth, 'content-type': 'application/json' },
      body: JSON.stringify({ seed: 5_000_000 }),
    })
    expect(tooMany.status).toBe(400)
    let last = Date.now()
    let worstGap = 0
    const timer = setInterval(() => {
      worstGap = Math.max(worstGap, Date.now() - last)
      last = Date.now()
    }, 5)
    let healthAnswers = 0
    const seeding = fetch(`${e.url}/_emulator/seed`, {
      method: 'POST',
      headers: { ...auth, 'content-type': 'application/json' },
      body: JSON.stringify({ seed: 50_000 }),
    })
    const probing = (async () => {
      for (let i = 0; i < 5; i++) {
        if ((await fetch(`${e.url}/_emulator/health`, { headers: auth })).ok) healthAnswers++
      }
    })()
    const answer = await seeding
    await probing
    clearInterval(timer)
    expect(answer.status).toBe(200)
    expect((await answer.json()).objects).toBeGreaterThan(50_000)
    expect(healthAnswers).toBe(5)
    console.log(`seeding 50,000 bookings over HTTP: worst event-loop gap ${worstGap} ms`)
    // Synchronous seeding blocked for the whole seed (seconds); in chunks each turn is short.
    expect(worstGap).toBeLessThan(1_000)
  })
})

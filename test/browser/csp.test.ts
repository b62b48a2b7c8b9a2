// The dashboard's security headers, checked where they matter: Chromium loads every screen (and /docs)
// under the Content-Security-Policy with zero violations, and the headers are on the page and the API.
import type { Browser, BrowserContext } from 'playwright-core'
import { afterAll, afterEach, beforeAll, describe, expect, inject, it } from 'vitest'
import { BrowserGuard } from '../support/browser-guard.js'
import { connectServer, guardedContext, launchBrowser, type ServerHandle } from '../support/browser-harness.js'

const info = inject('hubmirror')
const suite = info ? describe : describe.skip
let server: ServerHandle
let browser: Browser
let context: BrowserContext
const guard = new BrowserGuard()

function directives(policy: string): Map<string, string[]> {
  return new Map(
    policy
      .split(';')
      .map((d) => d.trim().split(/\s+/))
      .filter((words) => words[0])
      .map(([name, ...values]) => [name!, values]),
  )
}

suite('Content-Security-Policy in Chromium', () => {
  beforeAll(async () => {
    server = await connectServer(info!)
    browser = await launchBrowser()
    context = await guardedContext(browser, guard)
  })
  afterEach(() => guard.finish())
  afterAll(async () => {
    await context?.close().catch(() => {})
    await browser?.close().catch(() => {})
  })

  it('the page and the API answer with the policy and its companion headers', async () => {
    const page = await context.newPage()
    const response = await page.goto(`${server.baseUrl}/`)
    const api = await fetch(`${server.baseUrl}/api/mock-exams`, {
      headers: { authorization: `Bearer ${server.token}` },
    })
    for (const headers of [await response!.allHeaders(), Object.fromEntries(api.headers)]) {
      const csp = directives(headers['content-security-policy'] ?? '')
      expect(csp.get('script-src')).toEqual(["'self'"])
      expect(csp.get('default-src')).toEqual(["'self'"])
      expect(csp.get('frame-ancestors')).toEqual(["'none'"])
      expect(csp.get('object-src')).toEqual(["'none'"])
      expect(headers['x-content-type-options']).toBe('nosniff')
      expect(headers['referrer-policy']).toBe('no-referrer')
    }
    // No inline script for the policy to have to allow.
    expect(await page.locator('script:not([src])').count()).toBe(0)
    await page.close()
  })

  it('every screen loads and runs with zero CSP violations', async () => {
    const { exams } = await server.api.listExams({ is_active: true })
    const page = await context.newPage()
    const violations: string[] = []
    page.on('console', (m) => /Content Security Policy|Refused to/.test(m.text()) && violations.push(m.text()))
    await page.goto(server.signInUrl)
    await page.locator('[data-testid^="exam-row-"]').first().waitFor({ timeout: 20_000 })
    await page.locator('[data-testid="live-indicator"][data-state="live"]').waitFor({ timeout: 15_000 })
    for (const hash of [`#/exams/${exams[0]!.hubspot_id}`, '#/exams/new', '#/sync']) {
      await page.goto(`${server.baseUrl}/${hash}`)
      await page.locator('main h1').first().waitFor({ timeout: 10_000 })
    }
    await page.locator('[data-check="clock"]').waitFor({ timeout: 20_000 })
    // Listened for in the page itself too (the guard's securitypolicyviolation listener).
    expect(guard.problems().filter((p) => p.kind === 'csp')).toEqual([])
    expect(violations).toEqual([])
    await page.close()
  })

  it('/docs (Swagger UI) runs under the same policy with zero violations', async () => {
    const page = await context.newPage()
    const response = await page.goto(`${server.baseUrl}/docs`)
    expect(response?.status()).toBe(200)
    expect((await response!.allHeaders())['content-security-policy']).toContain("script-src 'self'")
    await page.locator('.swagger-ui .opblock').first().waitFor({ timeout: 20_000 })
    expect(guard.problems().filter((p) => p.kind === 'csp')).toEqual([])
    await page.close()
  })
})

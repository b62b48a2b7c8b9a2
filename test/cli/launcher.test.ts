// bin/hubmirror.js: backfill and reconcile run in a heap-capped child that dies with its launcher, and the bundle runs only when fresh.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process'
import { copyFileSync, mkdirSync, readFileSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs'
import { createServer, type Server, type Socket } from 'node:net'
import { join } from 'node:path'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { BUNDLE, chooseEntry } from '../../bin/entry.js'
import { freshDatabase, realPostgres, tempDir, type TestDatabase, testNamespace } from '../support/env.js'
import { within } from '../support/wait.js'

/** Generous: the CLI may start through tsx, on a machine shared with other suites. */
const PATIENCE_MS = 60_000

function childrenOf(pid: number): number[] {
  try {
    return readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number)
  } catch {
    return []
  }
}

function cmdline(pid: number): string[] {
  return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean)
}

/** Gone, or a zombie waiting for whoever adopted it to reap it: either way it runs no more. */
function running(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
    return !/^\d+ \(.*\) [ZX]/.test(stat)
  } catch {
    return false
  }
}

describe.skipIf(!realPostgres)('the launcher of backfill and reconcile', () => {
  // A HubSpot that accepts connections and never answers: the backfill waits on its first call.
  let silent: Server
  const sockets: Socket[] = []
  const databases: TestDatabase[] = []
  const dir = tempDir('hubmirror-launcher-')
  const started: ChildProcess[] = []
  const orphans: number[] = []

  beforeAll(async () => {
    silent = createServer((socket) => sockets.push(socket))
    await new Promise<void>((listening) => silent.listen(0, '127.0.0.1', listening))
  })
  afterEach(() => {
    for (const pid of orphans.splice(0)) if (running(pid)) process.kill(pid, 'SIGKILL')
    for (const child of started.splice(0))
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL')
  })
  afterAll(async () => {
    for (const socket of sockets) socket.destroy()
    await new Promise((closed) => silent.close(closed))
    for (const database of databases) await database.drop()
    dir.remove()
  })

  /** Each run its own database and Redis keys: a killed run's lock outlives it for a while. */
  async function backfill(extraEnv: Record<string, string> = {}): Promise<ChildProcess> {
    const { port } = silent.address() as { port: number }
    const database = await freshDatabase()
    databases.push(database)
    const child = spawn(process.execPath, ['bin/hubmirror.js', 'backfill'], {
      env: {
        ...process.env,
        HUBSPOT_BASE_URL: `http://127.0.0.1:${port}`,
        HUBMIRROR_DATA_DIR: dir.path,
        DATABASE_URL: database.url!,
        HUBMIRROR_REDIS_NAMESPACE: testNamespace('launcher'),
        LOG_LEVEL: 'warn',
        ...extraEnv,
      },
      stdio: 'ignore',
    })
    started.push(child)
    return child
  }

  /** The backfill is under way once it has called the silent HubSpot. */
  async function calling(): Promise<void> {
    const before = sockets.length
    await within(PATIENCE_MS, async () => sockets.length > before)
  }

  function exited(child: ChildProcess): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
    if (child.exitCode !== null || child.signalCode !== null)
      return Promise.resolve({ code: child.exitCode, signal: child.signalCode })
    return new Promise((done) => child.once('exit', (code, signal) => done({ code, signal })))
  }

  it(
    'runs backfill in a child with a 160 MB old space, which dies when the launcher is SIGKILLed',
    { timeout: 3 * PATIENCE_MS },
    async () => {
      const launcher = await backfill()
      await calling()
      const children = childrenOf(launcher.pid!)
      expect(children).toHaveLength(1)
      const [child] = children
      orphans.push(child)
      expect(cmdline(child)).toContain('--max-old-space-size=160')
      expect(cmdline(child)).toContain('backfill')

      launcher.kill('SIGKILL')
      await exited(launcher)
      await within(PATIENCE_MS, async () => !running(child))
    },
  )

  it('relays SIGTERM to the child and exits as it did (128 + 15)', { timeout: 3 * PATIENCE_MS }, async () => {
    const launcher = await backfill()
    await calling()
    const [child] = childrenOf(launcher.pid!)
    orphans.push(child)
    launcher.kill('SIGTERM')
    expect(await exited(launcher)).toEqual({ code: 143, signal: null })
    await within(PATIENCE_MS, async () => !running(child))
  })

  it('runs in-process, forking nothing, when the user chose the heap size', { timeout: 3 * PATIENCE_MS }, async () => {
    const launcher = await backfill({ NODE_OPTIONS: '--max-old-space-size=300' })
    await calling()
    expect(childrenOf(launcher.pid!)).toEqual([])
    expect(launcher.exitCode).toBeNull()
  })
})

describe('which code the command runs', () => {
  const root = tempDir('hubmirror-entry-')
  mkdirSync(join(root.path, 'src/cli'), { recursive: true })
  mkdirSync(join(root.path, 'dist/cli'), { recursive: true })
  const files = { pkg: 'package.json', source: 'src/cli/main.ts', bundle: BUNDLE }
  afterAll(() => root.remove())

  /** Sets each file's mtime to the given second. */
  function at(seconds: Partial<Record<keyof typeof files, number>>): void {
    for (const [key, second] of Object.entries(seconds)) {
      const path = join(root.path, files[key as keyof typeof files])
      writeFileSync(path, '')
      utimesSync(path, second, second)
    }
  }

  it('runs the sources through tsx while there is no bundle', () => {
    at({ pkg: 1_000, source: 1_000 })
    expect(chooseEntry(root.path)).toBe('tsx')
  })

  it('runs the bundle when it is no older than package.json and every source', () => {
    at({ pkg: 1_000, source: 1_000, bundle: 1_000 })
    expect(chooseEntry(root.path)).toBe('bundle')
    at({ bundle: 2_000 })
    expect(chooseEntry(root.path)).toBe('bundle')
  })

  it('falls back to tsx once a source (however deep) or package.json is newer than the bundle', () => {
    at({ pkg: 1_000, source: 3_000, bundle: 2_000 })
    expect(chooseEntry(root.path)).toBe('tsx')
    at({ pkg: 3_000, source: 1_000, bundle: 2_000 })
    expect(chooseEntry(root.path)).toBe('tsx')
  })
})

describe('bin/hubmirror.js in a package of its own', () => {
  // The real launcher, a bundle and sources that each only say which they are.
  const pkg = tempDir('hubmirror-launch-')
  mkdirSync(join(pkg.path, 'bin'))
  for (const file of ['hubmirror.js', 'entry.js']) copyFileSync(join('bin', file), join(pkg.path, 'bin', file))
  symlinkSync(join(process.cwd(), 'node_modules'), join(pkg.path, 'node_modules'))
  const write = (path: string, text: string, second: number): void => {
    mkdirSync(join(pkg.path, path, '..'), { recursive: true })
    writeFileSync(join(pkg.path, path), text)
    utimesSync(join(pkg.path, path), second, second)
  }
  const says = (who: string): string =>
    `export const PRIVATE_UMASK = 0o077\nexport async function main() { console.log('${who}'); return 0 }\n`
  write('package.json', '{ "type": "module" }', 1_000)
  write('src/config/data-dir.ts', 'export const PRIVATE_UMASK: number = 0o077\n', 1_000)
  write('src/cli/main.ts', says('sources').replace('main()', 'main(): Promise<number>'), 1_000)
  afterAll(() => pkg.remove())

  const run = (): string =>
    spawnSync(process.execPath, [join(pkg.path, 'bin/hubmirror.js'), 'doctor'], { encoding: 'utf8' }).stdout.trim()

  it('runs the bundle when it is fresh, and the sources once one is edited after it', () => {
    write(BUNDLE, says('bundle'), 2_000)
    expect(run()).toBe('bundle')
    write('src/cli/main.ts', says('sources').replace('main()', 'main(): Promise<number>'), 3_000)
    expect(run()).toBe('sources')
  })
})

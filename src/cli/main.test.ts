// The CLI's command line: help for every command, --version, unknown flags and words refused, token never on a typo.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest'
import { COMMANDS } from './commands.js'
import { main } from './main.js'

const JWT = /eyJ[\w-]+\.eyJ[\w-]+\.[\w-]+/
const dataDir = mkdtempSync(join(tmpdir(), 'hubmirror-cli-'))
const saved = { ...process.env }

beforeAll(() => {
  process.env.HUBMIRROR_DATA_DIR = dataDir
  delete process.env.HUBSPOT_ACCESS_TOKEN
  delete process.env.HUBSPOT_BASE_URL
  delete process.env.DATABASE_URL
})
afterAll(() => {
  process.env = saved
  rmSync(dataDir, { recursive: true, force: true })
})
afterEach(() => vi.restoreAllMocks())

async function run(...argv: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = ''
  let err = ''
  vi.spyOn(process.stdout, 'write').mockImplementation((chunk) => ((out += String(chunk)), true))
  vi.spyOn(process.stderr, 'write').mockImplementation((chunk) => ((err += String(chunk)), true))
  vi.spyOn(console, 'log').mockImplementation((...args) => void (out += args.join(' ') + '\n'))
  vi.spyOn(console, 'error').mockImplementation((...args) => void (err += args.join(' ') + '\n'))
  const code = await main(argv)
  vi.restoreAllMocks()
  return { code, out, err }
}

describe('hubmirror CLI', () => {
  it('--help lists every command and exits 0; no command is a usage error', async () => {
    const help = await run('--help')
    expect(help.code).toBe(0)
    for (const command of COMMANDS) expect(help.out).toContain(command.name)
    expect((await run('-h')).out).toBe(help.out)
    const none = await run()
    expect(none.code).toBe(2)
    expect(none.err).toContain('usage: hubmirror <command>')
  })

  it('<command> --help shows that command and runs nothing, for every command', async () => {
    for (const command of COMMANDS) {
      const res = await run(...command.name.split(' '), '--help')
      expect(res.code, command.name).toBe(0)
      expect(res.out, command.name).toContain(`usage: hubmirror ${command.name}`)
      for (const flag of Object.keys(command.flags)) expect(res.out, command.name).toContain(`--${flag}`)
      expect(res.out).not.toMatch(JWT)
    }
    expect((await run('help', 'reconcile')).out).toContain('usage: hubmirror reconcile')
  })

  it('--version prints the package version', async () => {
    const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8'))
    expect(await run('--version')).toMatchObject({ code: 0, out: `${pkg.version}\n` })
  })

  it('refuses unknown commands, flags, values and extra words with the usage (exit 2)', async () => {
    const cases: [string[], RegExp][] = [
      [['frobnicate'], /unknown command "frobnicate"/],
      [['--frob'], /unknown option --frob/],
      [['reconcile', '--fx'], /unknown option --fx/],
      [['reconcile', '--fix=yes'], /--fix takes no value/],
      [['sync', 'now'], /unexpected argument: now/],
      [['backfill', '-r'], /unknown option -r/],
      [['db'], /"db" needs a subcommand/],
      [['db', 'drop'], /unknown subcommand "db drop"/],
      [['emulator', '--port'], /--port needs a value/],
      [['token', '--ttl', '7d', '--ttl', '1d'], /--ttl given twice/],
      [['db', 'publish', '--publication'], /--publication needs a value/],
      // The embedded default cannot publish: said before anything is opened.
      [['db', 'publish'], /db publish: needs DATABASE_URL/],
    ]
    for (const [argv, message] of cases) {
      const res = await run(...argv)
      expect(res.code, argv.join(' ')).toBe(2)
      expect(res.err, argv.join(' ')).toMatch(message)
      expect(res.err, argv.join(' ')).toContain('usage: hubmirror')
      expect(res.out, argv.join(' ')).toBe('')
    }
  })

  it('token prints a token only for a well-formed line', async () => {
    const good = await run('token', '--permissions', 'exams.view')
    expect(good.code).toBe(0)
    expect(good.out.trim()).toMatch(new RegExp(`^${JWT.source}$`))
    const payload = JSON.parse(Buffer.from(good.out.split('.')[1], 'base64url').toString())
    expect(payload.permissions).toEqual(['exams.view'])
    for (const argv of [
      ['token', '--help'],
      ['token', '-h'],
      ['token', '--permissions', 'exams.view', '--help'],
      ['token', '--permision', 'exams.view'],
      ['token', '--permissions'],
      ['token', '--permissions', 'exams.veiw'],
      ['token', '--permissions', ','],
      ['token', 'exams.view'],
      ['token', '--ttl', 'forever'],
      ['token', '--ttl', '0d'],
    ]) {
      const res = await run(...argv)
      expect(res.out + res.err, argv.join(' ')).not.toMatch(JWT)
    }
  })

  it('sync, backfill and reconcile with no HubSpot and no server say exactly what to set', async () => {
    for (const command of ['sync', 'backfill', 'reconcile']) {
      const res = await run(command)
      expect(res.code, command).toBe(2)
      expect(res.err).toContain('HUBSPOT_ACCESS_TOKEN')
      expect(res.err).toContain('HUBSPOT_BASE_URL')
      expect(res.err).toContain('npm start')
    }
  })
})

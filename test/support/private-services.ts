// Private Redis and Postgres servers that a test may kill and restart without touching the machine's shared ones.
import { setTimeout as sleep } from 'node:timers/promises'
import { execFileSync, spawn, type ChildProcess } from 'node:child_process'
import { chownSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { connect } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { freePort } from './child-server.js'

/** Sends a raw PING: no client library, so that its reconnect logic cannot hide a dead server. */
export function redisPing(port: number, timeoutMs = 500): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ port, host: '127.0.0.1' })
    const done = (ok: boolean) => {
      socket.destroy()
      resolve(ok)
    }
    socket.setTimeout(timeoutMs, () => done(false))
    socket.once('error', () => done(false))
    socket.once('connect', () => socket.write('PING\r\n'))
    socket.once('data', (data) => done(String(data).startsWith('+PONG')))
  })
}

export interface PrivateRedis {
  url: string
  port: number
  /** Starts the server (again), empty: no RDB, no AOF. */
  start(): Promise<void>
  /** kill -9: connections drop, the data is gone. */
  kill(): Promise<void>
  close(): Promise<void>
}

export async function startPrivateRedis(): Promise<PrivateRedis> {
  const port = await freePort()
  let child: ChildProcess | null = null
  let exited: Promise<void> = Promise.resolve()
  const redis: PrivateRedis = {
    url: `redis://127.0.0.1:${port}`,
    port,
    async start() {
      const started = spawn(
        'redis-server',
        ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--daemonize', 'no'],
        { stdio: 'ignore' },
      )
      child = started
      exited = new Promise((resolve) => started.once('exit', () => resolve()))
      const deadline = Date.now() + 10_000
      while (!(await redisPing(port))) {
        if (started.exitCode !== null)
          throw new Error(`redis-server exited with ${started.exitCode} (is redis-server installed?)`)
        if (Date.now() > deadline) throw new Error('redis-server did not answer PING within 10 s')
        await sleep(25)
      }
    },
    async kill() {
      if (child && child.exitCode === null && child.signalCode === null) child.kill('SIGKILL')
      await exited
      child = null
    },
    close: () => redis.kill(),
  }
  await redis.start()
  return redis
}

export interface PrivatePostgres {
  url: string
  port: number
  /** The server's log so far, for failure messages. */
  log(): string
  start(): Promise<void>
  /** `pg_ctl stop -m immediate`: every backend dies at once, as in a crash; WAL replays at start. */
  stopImmediate(): Promise<void>
  /** Stops the server and deletes its data directory. */
  remove(): Promise<void>
}

function postgresBinDir(): string {
  const root = '/usr/lib/postgresql'
  if (existsSync(root)) {
    const versions = readdirSync(root)
      .filter((v) => existsSync(join(root, v, 'bin', 'initdb')))
      .sort((a, b) => Number(b) - Number(a))
    if (versions.length > 0) return join(root, versions[0], 'bin')
  }
  try {
    return execFileSync('pg_config', ['--bindir'], { encoding: 'utf8' }).trim()
  } catch {
    throw new Error('no Postgres server binaries (initdb, pg_ctl) found under /usr/lib/postgresql or via pg_config')
  }
}

/** Why no private cluster can be made here (no initdb, or root without a postgres user to run it as), or null. */
export function privatePostgresUnavailable(): string | null {
  try {
    postgresBinDir()
  } catch (error) {
    return (error as Error).message
  }
  try {
    if (process.getuid?.() === 0) execFileSync('id', ['-u', 'postgres'], { stdio: 'pipe' })
  } catch {
    return 'running as root and there is no postgres user to run initdb and pg_ctl as'
  }
  return null
}

/** The directory of initdb, pg_ctl, pg_dump and psql of the newest installed server. */
export function postgresBin(name: string): string {
  return join(postgresBinDir(), name)
}

/** initdb and pg_ctl refuse to run as root: as root, run them as the postgres user. */
function runner():
  | { uid: number; gid: number; run(bin: string, args: string[]): void }
  | { uid: null; gid: null; run(bin: string, args: string[]): void } {
  const asRoot = process.getuid?.() === 0
  if (!asRoot) return { uid: null, gid: null, run: (bin, args) => void execFileSync(bin, args, { stdio: 'pipe' }) }
  const uid = Number(execFileSync('id', ['-u', 'postgres'], { encoding: 'utf8' }).trim())
  const gid = Number(execFileSync('id', ['-g', 'postgres'], { encoding: 'utf8' }).trim())
  const hasRunuser = existsSync('/usr/sbin/runuser') || existsSync('/sbin/runuser') || existsSync('/usr/bin/runuser')
  return {
    uid,
    gid,
    run: (bin, args) => {
      if (hasRunuser) execFileSync('runuser', ['-u', 'postgres', '--', bin, ...args], { stdio: 'pipe' })
      else
        execFileSync(
          'su',
          ['postgres', '-s', '/bin/sh', '-c', [bin, ...args].map((a) => `'${a.replaceAll("'", "'\\''")}'`).join(' ')],
          { stdio: 'pipe' },
        )
    },
  }
}

export interface PrivatePostgresOptions {
  /** More server settings, e.g. { wal_level: 'logical' } for a publisher. */
  settings?: Record<string, string>
}

/** A throw-away Postgres cluster on a free port (fsync off: a test database, not a durable one). */
export async function startPrivatePostgres(options: PrivatePostgresOptions = {}): Promise<PrivatePostgres> {
  const bin = postgresBinDir()
  const as = runner()
  const dir = mkdtempSync(join(tmpdir(), 'hm-pg-'))
  if (as.uid !== null) chownSync(dir, as.uid, as.gid)
  const data = join(dir, 'data')
  const logFile = join(dir, 'log')
  as.run(join(bin, 'initdb'), ['-D', data, '-U', 'postgres', '--auth=trust', '-N', '-E', 'UTF8'])
  const port = await freePort()
  const pgCtl = (args: string[]) => as.run(join(bin, 'pg_ctl'), ['-D', data, ...args])
  let running = false
  const server: PrivatePostgres = {
    url: `postgres://postgres@127.0.0.1:${port}/postgres`,
    port,
    log: () => {
      try {
        return execFileSync('tail', ['-n', '40', logFile], { encoding: 'utf8' })
      } catch {
        return ''
      }
    },
    async start() {
      try {
        pgCtl([
          '-o',
          [
            `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=200`,
            ...Object.entries(options.settings ?? {}).map(([name, value]) => `-c ${name}=${value}`),
          ].join(' '),
          '-l',
          logFile,
          '-w',
          '-t',
          '60',
          'start',
        ])
      } catch (error) {
        throw new Error(`could not start the private Postgres: ${(error as Error).message}\n${server.log()}`)
      }
      running = true
    },
    async stopImmediate() {
      pgCtl(['-m', 'immediate', '-w', 'stop'])
      running = false
    },
    async remove() {
      if (running) await server.stopImmediate().catch(() => undefined)
      rmSync(dir, { recursive: true, force: true })
    },
  }
  await server.start()
  return server
}

export const PGBOUNCER = '/usr/sbin/pgbouncer'

export interface PrivatePgBouncer {
  /** DATABASE_URL through the pooler (any database name: the ini maps * to the server). */
  url(database?: string): string
  port: number
  close(): Promise<void>
}

/**
 * Debian's PgBouncer in front of a Postgres server, with its default startup-parameter policy
 * (no ignore_startup_parameters): what a user puts in front of a project, or Supavisor behaves like.
 * PgBouncer refuses to run as root, so as root it runs as the postgres user.
 */
export async function startPrivatePgBouncer(options: {
  server: string
  poolMode: 'session' | 'transaction'
}): Promise<PrivatePgBouncer> {
  const target = new URL(options.server)
  const as = runner()
  const dir = mkdtempSync(join(tmpdir(), 'hm-pgbouncer-'))
  const port = await freePort()
  writeFileSync(join(dir, 'users.txt'), `"${decodeURIComponent(target.username || 'postgres')}" ""\n`)
  writeFileSync(
    join(dir, 'pgbouncer.ini'),
    [
      '[databases]',
      `* = host=${target.hostname} port=${target.port || 5432}`,
      '[pgbouncer]',
      'listen_addr = 127.0.0.1',
      `listen_port = ${port}`,
      'unix_socket_dir =',
      'auth_type = trust',
      `auth_file = ${join(dir, 'users.txt')}`,
      `pool_mode = ${options.poolMode}`,
      'max_client_conn = 2000',
      `logfile = ${join(dir, 'pgbouncer.log')}`,
      '',
    ].join('\n'),
  )
  if (as.uid !== null) {
    chownSync(dir, as.uid, as.gid)
    for (const file of readdirSync(dir)) chownSync(join(dir, file), as.uid, as.gid)
  }
  const command = as.uid !== null ? 'runuser' : PGBOUNCER
  const args = [...(as.uid !== null ? ['-u', 'postgres', '--', PGBOUNCER] : []), join(dir, 'pgbouncer.ini')]
  const child = spawn(command, args, { stdio: 'ignore' })
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()))
  const deadline = Date.now() + 10_000
  for (;;) {
    const open = await new Promise<boolean>((resolve) => {
      const socket = connect({ port, host: '127.0.0.1' })
      socket.once('connect', () => (socket.destroy(), resolve(true)))
      socket.once('error', () => resolve(false))
    })
    if (open) break
    if (child.exitCode !== null || Date.now() > deadline) {
      let log = ''
      try {
        log = readFileSync(join(dir, 'pgbouncer.log'), 'utf8')
      } catch {
        // no log yet
      }
      child.kill('SIGKILL')
      throw new Error(`pgbouncer did not start on ${port}\n${log}`)
    }
    await sleep(25)
  }
  return {
    port,
    url: (database = target.pathname.slice(1) || 'postgres') =>
      `postgres://${target.username || 'postgres'}@127.0.0.1:${port}/${database}`,
    async close() {
      child.kill('SIGTERM')
      await exited
      rmSync(dir, { recursive: true, force: true })
    },
  }
}

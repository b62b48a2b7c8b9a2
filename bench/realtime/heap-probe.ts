// What one idle realtime connection retains on the server: JS heap per connection after GC, and the objects behind it by constructor.
//
//   node --expose-gc --import tsx bench/realtime/heap-probe.ts [--clients 3000] [--transport sse|ws] [--snapshot]
//
// The server runs in this process (no commits, so every stream is idle), the clients in a child
// (bench/realtime/clients.ts), so that only the server's side is counted. With --snapshot, a heap
// snapshot is taken before and after connecting and the retained nodes are diffed by (type, name):
// the rows whose count grew by about one per connection are what each connection holds.
import { randomBytes } from 'node:crypto'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { getHeapSnapshot } from 'node:v8'
import { createApp } from '../../src/app.js'
import { loadConfig } from '../../src/config/index.js'
import { issueToken } from '../../src/http/jwt.js'
import { benchServerEnv, spawnWorker, stopWorkers } from './ipc.js'

const HERE = dirname(fileURLToPath(import.meta.url))
const arg = (name: string) => {
  const at = process.argv.indexOf(`--${name}`)
  return at === -1 ? undefined : (process.argv[at + 1] ?? '')
}
const CLIENTS = Number(arg('clients') ?? 3000)
const TRANSPORT = arg('transport') ?? 'sse'
const SNAPSHOT = process.argv.includes('--snapshot')
if (!globalThis.gc) throw new Error('run with node --expose-gc')

process.env.BENCH_JWT_SECRET = randomBytes(24).toString('base64url')
const dataDir = mkdtempSync(join(tmpdir(), 'hm-heap-probe-'))
const config = loadConfig(
  benchServerEnv(dataDir, { HUBMIRROR_MAX_STREAMS_PER_SUBJECT: '100000', HUBMIRROR_MAX_STREAMS: '100000' }),
)
const app = await createApp({ config, inMemoryDb: true, webDist: null })
const base = new URL(await app.listen())
const token = issueToken(process.env.BENCH_JWT_SECRET, ['exams.view'], { ttlSeconds: 3_600 })
const { worker: clients } = await spawnWorker('clients', join(HERE, 'clients.ts'))

async function settle(): Promise<number> {
  await new Promise((resolve) => setTimeout(resolve, 300))
  for (let i = 0; i < 4; i++) globalThis.gc!()
  return process.memoryUsage().heapUsed
}

type Counts = Map<string, { count: number; bytes: number }>

/** Live nodes of a heap snapshot, counted by type and constructor/name. */
async function snapshotCounts(): Promise<Counts> {
  for (let i = 0; i < 4; i++) globalThis.gc!()
  const chunks: Buffer[] = []
  for await (const chunk of getHeapSnapshot()) chunks.push(chunk as Buffer)
  const snapshot = JSON.parse(Buffer.concat(chunks).toString('utf8')) as {
    snapshot: { meta: { node_fields: string[]; node_types: [string[]] } }
    nodes: number[]
    strings: string[]
  }
  const fields = snapshot.snapshot.meta.node_fields
  const types = snapshot.snapshot.meta.node_types[0]
  const width = fields.length
  const [typeAt, nameAt, sizeAt] = ['type', 'name', 'self_size'].map((f) => fields.indexOf(f))
  const counts: Counts = new Map()
  for (let i = 0; i < snapshot.nodes.length; i += width) {
    const type = types[snapshot.nodes[i + typeAt]]
    const rawName = snapshot.strings[snapshot.nodes[i + nameAt]]
    const name =
      type === 'string' || type === 'concatenated string' || type === 'sliced string' ? '' : rawName.slice(0, 60)
    const key = `${type}:${name}`
    const row = counts.get(key) ?? { count: 0, bytes: 0 }
    row.count++
    row.bytes += snapshot.nodes[i + sizeAt]
    counts.set(key, row)
  }
  return counts
}

const beforeCounts = SNAPSHOT ? await snapshotCounts() : null
const before = await settle()
const connected = await clients.call<{ connected: number; failed: number }>('connect', {
  transport: TRANSPORT,
  host: base.hostname,
  port: Number(base.port),
  path: `/api/${TRANSPORT === 'sse' ? 'events' : 'ws'}?access_token=${token}`,
  count: CLIENTS,
  localAddress: '127.0.0.7',
})
const after = await settle()
const perConnection = (after - before) / 1024 / Math.max(1, connected.connected)
console.log(
  `${TRANSPORT}: ${connected.connected} connected (${connected.failed} failed); heap ${((after - before) / 1048576).toFixed(1)} MiB, ${perConnection.toFixed(2)} KiB/conn`,
)
if (beforeCounts) {
  const afterCounts = await snapshotCounts()
  const rows = [...afterCounts].map(([key, a]) => {
    const b = beforeCounts.get(key) ?? { count: 0, bytes: 0 }
    return {
      key,
      perConn: (a.count - b.count) / connected.connected,
      bytesPerConn: (a.bytes - b.bytes) / connected.connected,
    }
  })
  rows.sort((x, y) => y.bytesPerConn - x.bytesPerConn)
  console.log('per connection, by node type:name (self size):')
  for (const row of rows.filter((r) => Math.abs(r.bytesPerConn) >= 8).slice(0, 60))
    console.log(`  ${row.bytesPerConn.toFixed(0).padStart(6)} B  ${row.perConn.toFixed(2).padStart(6)}×  ${row.key}`)
  console.log(`  total self size: ${rows.reduce((s, r) => s + r.bytesPerConn, 0).toFixed(0)} B/conn`)
}
await clients.call('close')
await stopWorkers()
await app.close()
rmSync(dataDir, { recursive: true, force: true })
process.exit(0)

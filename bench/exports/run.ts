// CSV export memory: one exam's bookings (10,000 and 100,000 rows) downloaded by a slow reader over real HTTP;
// the server's heap growth must not follow the file's size. Writes last-run.json.
import { request } from 'node:http'
import { writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { Writable } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import pg from 'pg'
import { createApp } from '../../src/app.js'
import { loadConfig } from '../../src/config/index.js'
import { issueToken } from '../../src/http/jwt.js'
import { freshDatabase } from '../support/database.js'
import { machineInfo, machineLine, round, uptimeLine } from '../support/machine.js'

const HERE = dirname(fileURLToPath(import.meta.url))
const ADMIN_URL = process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres'
const SIZES = [10_000, 100_000]
const MiB = 2 ** 20

async function seedExam(url: string, examId: string, bookings: number, offset: number): Promise<void> {
  const client = new pg.Client({ connectionString: url })
  await client.connect()
  await client.query(
    `INSERT INTO public.hubspot_mock_exams (hubspot_id, mock_exam_name, exam_date, capacity, total_bookings, is_active, hs_lastmodifieddate)
     VALUES ($1, 'Export bench', DATE '2027-01-01', $2, $2, 'true', now())`,
    [examId, bookings],
  )
  await client.query(
    `INSERT INTO public.hubspot_bookings (hubspot_id, booking_id, mock_exam_id, student_id, student_name, student_email, booking_status, is_active, exam_date, hs_lastmodifieddate, created_at)
     SELECT ($2::bigint + n)::text, 'bk-' || ($2::bigint + n), $1, 'S' || n, 'Student ' || lpad(n::text, 7, '0'),
            'student' || n || '@example.com', 'confirmed', 'true', now(), now(), now()
       FROM generate_series(1, $3::int) n`,
    [examId, offset, bookings],
  )
  await client.end()
}

/** Downloads slowly (a 64 KiB socket buffer drained one chunk per event-loop turn), sampling the heap meanwhile. */
async function download(url: string, token: string) {
  const before = process.memoryUsage()
  let peakHeap = before.heapUsed
  let peakRss = before.rss
  const sampler = setInterval(() => {
    const now = process.memoryUsage()
    peakHeap = Math.max(peakHeap, now.heapUsed)
    peakRss = Math.max(peakRss, now.rss)
  }, 5)
  let bytes = 0
  let lines = 0
  const started = performance.now()
  await new Promise<void>((resolve, reject) => {
    const req = request(url, { headers: { authorization: `Bearer ${token}` } }, (res) => {
      if (res.statusCode !== 200) return reject(new Error(`status ${res.statusCode}`))
      const slow = new Writable({
        highWaterMark: 64 * 1024,
        write(chunk: Buffer, _encoding, done) {
          bytes += chunk.length
          for (const byte of chunk) if (byte === 0x0a) lines += 1
          setImmediate(done)
        },
      })
      pipeline(res, slow).then(resolve, reject)
    })
    req.on('error', reject)
    req.end()
  })
  clearInterval(sampler)
  return {
    seconds: round((performance.now() - started) / 1000, 2),
    bytes,
    rows: lines - 1,
    heapGrowthMiB: round((peakHeap - before.heapUsed) / MiB, 1),
    rssGrowthMiB: round((peakRss - before.rss) / MiB, 1),
  }
}

async function main(): Promise<void> {
  const machine = machineInfo()
  console.log(`machine: ${machineLine(machine)}\nload at start: ${machine.uptime}`)
  const database = await freshDatabase(ADMIN_URL, 'bench_exports')
  const config = loadConfig({
    DATABASE_URL: database.url,
    HUBMIRROR_DATA_DIR: join(tmpdir(), `hubmirror-bench-exports-${process.pid}`),
    HUBMIRROR_JWT_SECRET: 'bench-secret-bench-secret-bench-secret',
    LOG_LEVEL: 'warn',
  })
  const app = await createApp({ config, webDist: null })
  const results: Record<string, unknown>[] = []
  try {
    const base = await app.http.listen({ port: 0, host: '127.0.0.1' })
    const token = issueToken(config.jwtSecret, ['exams.view'])
    for (const [i, size] of SIZES.entries()) {
      const examId = String(20_000_000_001 + i)
      await seedExam(database.url, examId, size, 40_000_000_000 + i * 1_000_000)
      // One warm-up download (JIT, pool connections), then the measured one after a collection.
      await download(`${base}/api/mock-exams/${examId}/bookings.csv`, token)
      global.gc?.()
      const figures = await download(`${base}/api/mock-exams/${examId}/bookings.csv`, token)
      if (figures.rows !== size) throw new Error(`expected ${size} rows, got ${figures.rows}`)
      const row = { ...figures, fileMiB: round(figures.bytes / MiB, 2) }
      console.log(JSON.stringify(row))
      results.push(row)
    }
  } finally {
    await app.close()
    await database.drop()
  }
  const end = uptimeLine()
  console.log(`load at end: ${end}`)
  writeFileSync(join(HERE, 'last-run.json'), JSON.stringify({ machine, loadAtEnd: end, results }, null, 2) + '\n')
}

await main()

// Summarises a V8 .cpuprofile: self time by function and by package, to see where a server's time goes.
import { readFileSync } from 'node:fs'

interface ProfileNode {
  id: number
  callFrame: { functionName: string; url: string; lineNumber: number }
  children?: number[]
}

interface Profile {
  nodes: ProfileNode[]
  samples: number[]
  timeDeltas: number[]
}

function where(url: string): string {
  if (!url) return '(native)'
  const modules = url.lastIndexOf('node_modules/')
  if (modules >= 0) {
    const rest = url.slice(modules + 13).split('/')
    return rest[0]!.startsWith('@') ? `${rest[0]}/${rest[1]}` : rest[0]!
  }
  if (url.startsWith('node:')) return url
  const src = url.indexOf('/src/')
  return src >= 0 ? url.slice(src + 1) : url
}

const file = process.argv[2]
if (!file) throw new Error('usage: profile-summary.ts FILE.cpuprofile [top]')
const top = Number(process.argv[3] ?? 30)
const profile = JSON.parse(readFileSync(file, 'utf8')) as Profile
const byId = new Map(profile.nodes.map((n) => [n.id, n]))
const selfUs = new Map<number, number>()
profile.samples.forEach((id, i) => selfUs.set(id, (selfUs.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0)))
// Percentages are of busy time: an idle server between load runs would otherwise dilute every figure.
const idleIds = new Set(profile.nodes.filter((n) => n.callFrame.functionName === '(idle)').map((n) => n.id))
const all = [...selfUs.values()].reduce((a, b) => a + b, 0)
for (const id of idleIds) selfUs.delete(id)
const total = [...selfUs.values()].reduce((a, b) => a + b, 0)
const byFunction = new Map<string, number>()
const byPlace = new Map<string, number>()
for (const [id, us] of selfUs) {
  const frame = byId.get(id)!.callFrame
  const fn = `${frame.functionName || '(anonymous)'} ${where(frame.url)}:${frame.lineNumber + 1}`
  byFunction.set(fn, (byFunction.get(fn) ?? 0) + us)
  const place = frame.url ? where(frame.url) : frame.functionName
  byPlace.set(place, (byPlace.get(place) ?? 0) + us)
}
/** Coarse areas of a hubmirror request, first match wins (startup is module loading, not requests). */
const AREAS: Array<[string, RegExp]> = [
  [
    'startup: module loading and compiling',
    /modules\/|esm\/|source_map|wrapSafe|compileSourceTextModule|cjs-module-lexer|makeSyncRequest|waitForWorker/,
  ],
  ['socket writes (writev)', /^writev|writevGeneric|writeUtf8String/],
  ['JWT verification (HMAC, base64url, JSON)', /src\/http\/jwt\.ts|crypto\/hash|base64url|src\/http\/auth\.ts/],
  ['metrics (prom-client)', /prom-client|src\/http\/metrics\.ts/],
  ['logger (pino child per request)', /pino|@pinojs/],
  ['cache and read path', /src\/cache\/|read-service|routes-reads|ioredis|redis-parser|denque/],
  ['validation (zod)', /zod|fastify-type-provider-zod/],
  ['Fastify and its router', /fastify|find-my-way|light-my-request|avvio/],
  ['Node HTTP, net, streams, events, timers', /^node:|^(slice|utf8Slice|latin1Slice)\b|runMicrotasks/],
  ['garbage collector', /garbage collector/],
]
const byArea = new Map<string, number>()
for (const [id, us] of selfUs) {
  const frame = byId.get(id)!.callFrame
  const text = `${frame.functionName} ${frame.url ? where(frame.url) : '(native)'}`
  const area =
    AREAS.find(
      ([, pattern]) => pattern.test(frame.url ? where(frame.url) : frame.functionName) || pattern.test(text),
    )?.[0] ?? 'other'
  byArea.set(area, (byArea.get(area) ?? 0) + us)
}
const pct = (us: number) => `${((us / total) * 100).toFixed(1)}%`
console.log(
  `${file}: ${(all / 1e6).toFixed(1)} s sampled, ${(total / 1e6).toFixed(1)} s busy (percentages below are of busy time)`,
)
console.log('\nself time by area:')
for (const [area, us] of [...byArea].sort((a, b) => b[1] - a[1])) console.log(`  ${pct(us).padStart(6)}  ${area}`)
console.log('\nself time by package / file:')
for (const [place, us] of [...byPlace].sort((a, b) => b[1] - a[1]).slice(0, top))
  console.log(`  ${pct(us).padStart(6)}  ${place}`)
console.log('\nself time by function:')
for (const [fn, us] of [...byFunction].sort((a, b) => b[1] - a[1]).slice(0, top))
  console.log(`  ${pct(us).padStart(6)}  ${fn}`)

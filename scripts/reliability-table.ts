// Renders docs/RELIABILITY.md's results table from the figures the resilience suite wrote to test-artifacts/resilience/.
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import type { ScenarioFigures } from '../test/support/resilience-harness.js'

/** What recordFigures writes: the scenario's figures plus the run they came from. */
type Figures = Omit<ScenarioFigures, 'figures'> & { profile: string; result: string; recordedAt: string; node: string }

const dir = join(process.cwd(), 'test-artifacts', 'resilience')
const doc = join(process.cwd(), 'docs', 'RELIABILITY.md')
const START = '<!-- results:start -->'
const END = '<!-- results:end -->'

const cell = (text: string) => text.replaceAll('|', '\\|').replaceAll('\n', ' ')

function render(rows: Figures[]): string {
  const profiles = [...new Set(rows.map((r) => r.profile))].join(', ')
  const when =
    rows
      .map((r) => r.recordedAt)
      .sort()
      .at(-1) ?? ''
  const lines = [
    `Measured by \`RESILIENCE_PROFILE=${profiles} npm run test:resilience\` on ${when.slice(0, 10)} (Node ${rows[0]?.node ?? '?'}); every row is a passing run.`,
    '',
    '| scenario | load held | faults survived | data checked | result | time |',
    '| --- | --- | --- | --- | --- | --- |',
    ...rows.map(
      (r) =>
        `| ${cell(r.title)} | ${cell(r.load)} | ${cell(r.faults)} | ${cell(r.checked)} | ${r.result} | ${(r.durationMs / 1000).toFixed(0)} s |`,
    ),
  ]
  return lines.join('\n')
}

const rows = existsSync(dir)
  ? readdirSync(dir)
      .filter((f) => f.endsWith('.json'))
      .map((f) => JSON.parse(readFileSync(join(dir, f), 'utf8')) as Figures)
      .sort((a, b) => a.order - b.order)
  : []
if (rows.length === 0) {
  console.error(`no figures in ${dir}: run the resilience suite first`)
  process.exit(1)
}
const table = render(rows)
if (process.argv.includes('--print') || !existsSync(doc)) {
  console.log(table)
} else {
  const text = readFileSync(doc, 'utf8')
  const from = text.indexOf(START)
  const to = text.indexOf(END)
  if (from < 0 || to < from) throw new Error(`${doc} has no ${START} … ${END} markers`)
  writeFileSync(doc, text.slice(0, from + START.length) + '\n' + table + '\n' + text.slice(to))
  console.log(`wrote ${rows.length} rows to ${doc}`)
}

// The README's "What it measures" table may only show figures that bench/RESULTS.md records: a
// figure is copied from a measured run, never left behind it or made up.
import { readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'

const README = readFileSync(new URL('../../README.md', import.meta.url), 'utf8')
const RESULTS = readFileSync(new URL('../../bench/RESULTS.md', import.meta.url), 'utf8')

/** Numbers as written in prose and tables: 13,688 · 0.53 · 4.9 · 250. */
const NUMBER = /\d[\d,]*(?:\.\d+)?/g

function numbersIn(text: string): string[] {
  return text.match(NUMBER) ?? []
}

function valueOf(written: string): number {
  return Number(written.replaceAll(',', ''))
}

function decimalsOf(written: string): number {
  return written.split('.')[1]?.length ?? 0
}

/** The "What it measures" table's rows, as [what, hubmirror's figures, what they are compared with]. */
function measuredRows(readme: string): string[][] {
  const section = readme.split('## What it measures')[1]?.split('\n## ')[0] ?? ''
  return section
    .split('\n')
    .filter((line) => line.startsWith('| ') && !line.startsWith('| ---') && !line.startsWith('| benchmark'))
    .map((line) => line.split('|').slice(1, -1))
}

/** A README figure is recorded when RESULTS.md holds a number that rounds to it as written. */
function recorded(figure: string, results: readonly number[]): boolean {
  const factor = 10 ** decimalsOf(figure)
  const wanted = valueOf(figure)
  return results.some((value) => Math.round(value * factor) / factor === wanted)
}

describe('README figures', () => {
  const results = numbersIn(RESULTS).map(valueOf)
  const rows = measuredRows(README)

  it('has a "What it measures" table', () => {
    expect(rows.length).toBeGreaterThan(5)
  })

  it('shows only figures bench/RESULTS.md records (rounded as written)', () => {
    const unrecorded = rows.flatMap(([what, ours, compared]) =>
      numbersIn(`${ours} ${compared}`)
        .filter((figure) => !recorded(figure, results))
        .map((figure) => `${figure} in "${what!.trim()}"`),
    )
    expect(unrecorded).toEqual([])
  })

  it('catches a figure RESULTS.md does not hold', () => {
    expect(recorded('13,688', results)).toBe(true)
    expect(recorded('13,689', results)).toBe(false)
  })
})

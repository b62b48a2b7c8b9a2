// The README's CLI table names every command in src/cli/commands.ts, and only flags that command takes.
import { readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import { COMMANDS } from '../../src/cli/commands.js'

const README = readFileSync(new URL('../../README.md', import.meta.url), 'utf8')

/** The CLI table's first cells: `npx hubmirror db publish [--publication NAME] [--json]`, and so on. */
function commandCells(readme: string): string[] {
  const section = readme.split('\n## CLI\n')[1]?.split('\n## ')[0] ?? ''
  return section
    .split('\n')
    .filter((line) => line.startsWith('| `npx hubmirror '))
    .map((line) => line.split(' | ')[0]!)
}

/** The command a cell shows: the longest command name its words start with. */
function commandOf(cell: string) {
  const words = cell.replace(/^\| `npx hubmirror /, '')
  return [...COMMANDS]
    .sort((a, b) => b.name.length - a.name.length)
    .find((c) => words === c.name || words.startsWith(`${c.name} `) || words.startsWith(`${c.name}\``))
}

describe('README CLI table', () => {
  const cells = commandCells(README)

  it('has a row for every command', () => {
    const shown = new Set(cells.map((cell) => commandOf(cell)?.name))
    expect(COMMANDS.map((c) => c.name).filter((name) => !shown.has(name))).toEqual([])
  })

  it('shows only commands and flags that exist', () => {
    const wrong = cells.flatMap((cell) => {
      const command = commandOf(cell)
      if (!command) return [`no command: ${cell}`]
      const flags = cell.match(/--[a-z0-9-]+/g) ?? []
      return flags.filter((flag) => !(flag.slice(2) in command.flags)).map((flag) => `${command.name} ${flag}`)
    })
    expect(wrong).toEqual([])
  })
})

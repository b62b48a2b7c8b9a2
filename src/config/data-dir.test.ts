// The data dir's modes: an older, looser dir is found and made owner-only; owner bits and symlink targets are left alone.
import { chmodSync, lstatSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { looseEntries, makePrivateDir, securePrivateTree } from './data-dir.js'

const mode = (path: string) => lstatSync(path).mode & 0o777
const made: string[] = []
function scratch(): string {
  const dir = mkdtempSync(join(tmpdir(), 'hubmirror-modes-'))
  made.push(dir)
  return dir
}
afterEach(() => {
  for (const dir of made.splice(0)) rmSync(dir, { recursive: true, force: true })
})

describe.skipIf(process.platform === 'win32')('the data dir is owner-only', () => {
  it('finds every loose folder and file of an older dir, fixes them, and keeps the owner bits', () => {
    const root = scratch()
    const data = join(root, 'data')
    mkdirSync(join(data, 'pglite', 'base'), { recursive: true })
    writeFileSync(join(data, 'pglite', 'base', '1259'), 'pages')
    writeFileSync(join(data, 'emulator.json'), '{"email":"student@example.com"}')
    writeFileSync(join(data, 'run.sh'), '#!/bin/sh')
    chmodSync(join(data, 'pglite', 'base', '1259'), 0o666)
    chmodSync(join(data, 'emulator.json'), 0o644)
    chmodSync(join(data, 'run.sh'), 0o755)
    for (const dir of [data, join(data, 'pglite'), join(data, 'pglite', 'base')]) chmodSync(dir, 0o755)
    // Outside the data dir, reached only by a link: not ours to change.
    writeFileSync(join(root, 'elsewhere'), 'x')
    chmodSync(join(root, 'elsewhere'), 0o644)
    symlinkSync(join(root, 'elsewhere'), join(data, 'link'))

    const { loose } = looseEntries(data)
    expect(loose.map((e) => e.path).sort()).toEqual(
      [
        data,
        join(data, 'pglite'),
        join(data, 'pglite', 'base'),
        join(data, 'pglite', 'base', '1259'),
        join(data, 'emulator.json'),
        join(data, 'run.sh'),
      ].sort(),
    )
    expect(loose.find((e) => e.path.endsWith('emulator.json'))).toMatchObject({ mode: 0o644, kind: 'file' })

    expect(securePrivateTree(data)).toBe(6)
    expect(looseEntries(data).loose).toEqual([])
    expect(mode(data)).toBe(0o700)
    expect(mode(join(data, 'pglite', 'base'))).toBe(0o700)
    expect(mode(join(data, 'pglite', 'base', '1259'))).toBe(0o600)
    expect(mode(join(data, 'emulator.json'))).toBe(0o600)
    expect(mode(join(data, 'run.sh'))).toBe(0o700)
    expect(mode(join(root, 'elsewhere'))).toBe(0o644)
    // Nothing left to do the second time.
    expect(securePrivateTree(data)).toBe(0)
  })

  it('makes new folders 0700, and tightens an existing leaf', () => {
    const root = scratch()
    makePrivateDir(join(root, 'a', 'b'))
    expect(mode(join(root, 'a', 'b'))).toBe(0o700)
    chmodSync(join(root, 'a', 'b'), 0o775)
    makePrivateDir(join(root, 'a', 'b'))
    expect(mode(join(root, 'a', 'b'))).toBe(0o700)
  })

  it('refuses a shared sticky folder such as /tmp and leaves its mode alone', () => {
    const shared = join(scratch(), 'shared')
    mkdirSync(shared)
    chmodSync(shared, 0o1777)
    expect(() => makePrivateDir(shared)).toThrowError(/shared folder .*like \/tmp/)
    expect(lstatSync(shared).mode & 0o7777).toBe(0o1777)
  })
})

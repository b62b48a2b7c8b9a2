// The data dir is owner-only (0700 folders, 0600 files): making its folders, fixing an older one, finding looser modes.
import { chmodSync, lstatSync, mkdirSync, readdirSync, type Stats } from 'node:fs'
import { join } from 'node:path'

/**
 * What the process creates from here on is its owner's only. PGlite (and any library) creates
 * files with 0666/0777 and the process umask, and keeps creating them (WAL segments, new
 * relations) long after start, so a umask is the only setting that covers files not yet made.
 */
export const PRIVATE_UMASK = 0o077
export const PRIVATE_DIR_MODE = 0o700
export const PRIVATE_FILE_MODE = 0o600
/** A data dir is walked at every start; past this many entries the rest is left (and doctor says so). */
const MAX_ENTRIES = 200_000

const onPosix = process.platform !== 'win32'

/**
 * A folder every user may write to and only owners may delete from (the sticky bit: /tmp,
 * /var/tmp). Tightening one to 0700 would lock every other user and service out of it, so it is
 * never taken as a data dir.
 */
export function isSharedFolder(stats: Stats): boolean {
  return (stats.mode & 0o1002) === 0o1002
}

/**
 * mkdir -p with mode 0700, and 0700 on the leaf even when it already existed (an older, looser dir).
 * Throws on a shared folder such as /tmp, which is nobody's to tighten.
 */
export function makePrivateDir(dir: string): void {
  mkdirSync(dir, { recursive: true, mode: PRIVATE_DIR_MODE })
  if (!onPosix) return
  const stats = lstatSync(dir)
  if (isSharedFolder(stats))
    throw new Error(
      `${dir} is a shared folder (world-writable and sticky, like /tmp): give the data a folder of its own`,
    )
  if ((stats.mode & 0o077) !== 0) chmodSync(dir, PRIVATE_DIR_MODE)
}

/** Group and other bits taken off: a 0644 file becomes 0600, a 0755 folder 0700, the owner's bits kept. */
function privateMode(stats: Stats): number {
  return stats.mode & 0o7777 & ~0o077
}

export interface LooseEntry {
  path: string
  /** Permission bits, e.g. 0o644. */
  mode: number
  kind: 'folder' | 'file'
}

/** Every folder and file under `dir` (itself included) that group or others may use; symlinks are not followed. */
export function looseEntries(dir: string): { loose: LooseEntry[]; truncated: boolean } {
  const loose: LooseEntry[] = []
  if (!onPosix) return { loose, truncated: false }
  let seen = 0
  const stack = [dir]
  while (stack.length > 0) {
    const path = stack.pop()!
    if (++seen > MAX_ENTRIES) return { loose, truncated: true }
    let stats: Stats
    try {
      stats = lstatSync(path)
    } catch {
      continue // gone meanwhile (PGlite renames and removes files as it runs)
    }
    if (stats.isSymbolicLink()) continue
    const folder = stats.isDirectory()
    if ((stats.mode & 0o077) !== 0) loose.push({ path, mode: stats.mode & 0o777, kind: folder ? 'folder' : 'file' })
    if (folder) {
      try {
        for (const name of readdirSync(path)) stack.push(join(path, name))
      } catch {
        // unreadable: its own mode is reported above if loose
      }
    }
  }
  return { loose, truncated: false }
}

/**
 * Makes the data dir and takes group/other bits off everything under it (a dir made by an older
 * version, or with a looser umask). Returns how many entries (the dir itself included) were changed. Entries another user
 * owns cannot be changed; they are left for doctor to report.
 */
export function securePrivateTree(dir: string): number {
  mkdirSync(dir, { recursive: true, mode: PRIVATE_DIR_MODE })
  let fixed = 0
  for (const entry of looseEntries(dir).loose) {
    try {
      chmodSync(entry.path, privateMode(lstatSync(entry.path)))
      fixed++
    } catch {
      // not ours, or gone meanwhile
    }
  }
  return fixed
}

/** `0o644` → `"644"`, as ls and chmod say it. */
export function formatMode(mode: number): string {
  return (mode & 0o777).toString(8).padStart(3, '0')
}

// Which code the hubmirror command runs: the prebuilt bundle when it is newer than every source, else the sources through tsx.
import { readdirSync, statSync } from 'node:fs'
import { join } from 'node:path'

/** The bundle `npm run build:cli` (and `npm ci`'s prepare) writes, relative to the package root. */
export const BUNDLE = 'dist/cli/main.js'

function newestMtimeMs(dir) {
  let newest = 0
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name)
    const mtime = entry.isDirectory() ? newestMtimeMs(path) : statSync(path).mtimeMs
    if (mtime > newest) newest = mtime
  }
  return newest
}

/**
 * 'bundle' only when the bundle exists and is no older than package.json and than the newest file
 * under src/: a developer who edits a source (or a dependency's version) never runs a stale bundle.
 */
export function chooseEntry(root) {
  let bundleMtime
  try {
    bundleMtime = statSync(join(root, BUNDLE)).mtimeMs
  } catch {
    return 'tsx'
  }
  const sources = Math.max(statSync(join(root, 'package.json')).mtimeMs, newestMtimeMs(join(root, 'src')))
  return bundleMtime >= sources ? 'bundle' : 'tsx'
}

// The data dir check: PGlite's files, the emulator's portal and the secrets must be owner-only.
import { existsSync } from 'node:fs'
import { formatMode, looseEntries } from '../config/data-dir.js'
import type { Config } from '../config/index.js'
import { check, type Check } from './report.js'

/** Entries named in the report; the count says how many more. */
const LOOSE_SHOWN = 5

/** PGlite's pages and WAL, the emulator's portal and the secrets: none of it for other users of the machine. */
export function dataDirCheck(config: Config): Check {
  const dir = config.dataDir
  if (!existsSync(dir)) return check('data_dir', 'skip', `${dir} does not exist yet (made owner-only at first start)`)
  if (process.platform === 'win32') return check('data_dir', 'skip', 'file modes are not checked on Windows')
  const { loose, truncated } = looseEntries(dir)
  if (loose.length === 0 && !truncated) return check('data_dir', 'ok', `${dir}: every folder 0700, every file 0600`)
  const details = loose.slice(0, LOOSE_SHOWN).map((e) => `${e.kind} ${e.path} is ${formatMode(e.mode)}`)
  if (loose.length > LOOSE_SHOWN) details.push(`and ${loose.length - LOOSE_SHOWN} more`)
  if (truncated) details.push('(stopped counting: too many entries)')
  return check(
    'data_dir',
    'fail',
    `${loose.length} folder(s) or file(s) under ${dir} are readable or writable by group or others (database pages, students' emails, secrets)`,
    {
      fix: `restart \`hubmirror serve\` (it makes them owner-only at start), or run: chmod -R go-rwx '${dir}'`,
      details,
    },
  )
}

// Test runs' global setup: every temp dir a run makes (data dirs, PGlite files, child servers') goes under one of its own, removed when the run ends.
import { chmodSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

/**
 * Workers and the servers tests start inherit TMPDIR, which os.tmpdir() reads: without it, a run
 * left ~180 folders (123 MB, PGlite data dirs among them) in /tmp for every `.ci/run`.
 */
export default function setup(): () => void {
  const previous = process.env.TMPDIR
  const dir = mkdtempSync(join(tmpdir(), 'hubmirror-run-'))
  // Others may pass through (not list it): the private Postgres and PgBouncer run as the postgres
  // user in folders of their own under it.
  chmodSync(dir, 0o711)
  process.env.TMPDIR = dir
  return () => {
    if (previous === undefined) delete process.env.TMPDIR
    else process.env.TMPDIR = previous
    rmSync(dir, { recursive: true, force: true })
  }
}

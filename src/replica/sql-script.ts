// A SQL script (several parameterless statements) as each backend takes it: Postgres whole, PGlite one statement at a time.
import type { ReplicaDriver } from './driver.js'

/**
 * Parameterless statements as the backend takes them: Postgres all in one round trip (one
 * simple-protocol message, run in order inside the open transaction), PGlite one at a time.
 */
export function statementsFor(kind: ReplicaDriver['kind'], sql: string): string[] {
  return kind === 'pg' ? [sql] : splitStatements(sql)
}

/**
 * Splits on ";" outside quotes, comments and dollar-quoted bodies (DO blocks), for PGlite's query,
 * which takes one statement at a time.
 */
export function splitStatements(sql: string): string[] {
  const statements: string[] = []
  let current = ''
  let i = 0
  while (i < sql.length) {
    const rest = sql.slice(i)
    const dollar = /^\$[A-Za-z_]*\$/.exec(rest)
    let token: string
    if (rest.startsWith('--')) {
      const end = rest.indexOf('\n')
      i += end === -1 ? rest.length : end
      continue
    } else if (dollar) {
      const close = rest.indexOf(dollar[0], dollar[0].length)
      token = close === -1 ? rest : rest.slice(0, close + dollar[0].length)
    } else if (rest[0] === "'" || rest[0] === '"') {
      const close = rest.indexOf(rest[0], 1)
      token = close === -1 ? rest : rest.slice(0, close + 1)
    } else if (rest[0] === ';') {
      if (current.trim()) statements.push(current.trim())
      current = ''
      i += 1
      continue
    } else token = rest[0]
    current += token
    i += token.length
  }
  if (current.trim()) statements.push(current.trim())
  return statements
}

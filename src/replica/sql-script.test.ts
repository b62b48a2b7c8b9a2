import { describe, expect, it } from 'vitest'
import { splitStatements, statementsFor } from './sql-script.js'

const SCRIPT = `-- a comment; with a semicolon
CREATE TABLE t (v text DEFAULT ';');
DO $$ BEGIN PERFORM 1; PERFORM 2; END $$;
DO $body$ BEGIN RAISE NOTICE 'a;b'; END $body$;
COMMENT ON TABLE t IS 'it''s; fine';
SELECT "odd;name" FROM t`

describe('a SQL script as each backend takes it', () => {
  it('splits on semicolons outside quotes, comments and dollar-quoted bodies', () => {
    expect(splitStatements(SCRIPT)).toEqual([
      "CREATE TABLE t (v text DEFAULT ';')",
      'DO $$ BEGIN PERFORM 1; PERFORM 2; END $$',
      "DO $body$ BEGIN RAISE NOTICE 'a;b'; END $body$",
      "COMMENT ON TABLE t IS 'it''s; fine'",
      'SELECT "odd;name" FROM t',
    ])
  })

  it('sends Postgres the whole script in one message, and PGlite one statement at a time', () => {
    expect(statementsFor('pg', SCRIPT)).toEqual([SCRIPT])
    expect(statementsFor('pglite', SCRIPT)).toEqual(splitStatements(SCRIPT))
  })
})

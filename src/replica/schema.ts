// Where hubmirror's tables live and who must not reach them: the names the migrations, doctor and policies share.

/**
 * Everything internal (change log, journal, sync state, migrations ledger) lives in a schema of
 * its own: Supabase's Data API serves `public`, never this one, and its roles get no USAGE on it.
 */
export const INTERNAL_SCHEMA = 'hubmirror'

/** Per object type: cursors, backfill checkpoint, last pull (replica/sync-state.ts). */
export const SYNC_STATE_TABLE = `${INTERNAL_SCHEMA}.sync_state`
/** The change log: one row per replica change, partitioned by seq range (change-log-partitions.ts). */
export const CHANGE_LOG_TABLE = `${INTERNAL_SCHEMA}.replica_events`
/**
 * The change log's head, as an SQL expression: the newest seq, 0 when empty. Read newest-first with
 * LIMIT 1 rather than max(seq): over the log's partitions Postgres plans max() twice (as an
 * aggregate and as this scan), which doubled the head read at 53 partitions (bench/RESULTS.md,
 * "The change log in partitions").
 */
export const CHANGE_LOG_HEAD = `coalesce((SELECT seq FROM ${INTERNAL_SCHEMA}.replica_events ORDER BY seq DESC LIMIT 1), 0)`
/** Small shared key/values (the last drift report). */
export const KV_TABLE = `${INTERNAL_SCHEMA}.hubmirror_state`

/** The replica tables stay in `public`, where the seed (and supabase-js clients) read them. */
export const REPLICA_TABLES = ['public.hubspot_mock_exams', 'public.hubspot_bookings'] as const

/** The roles Supabase's Data API (PostgREST) and Realtime act as on behalf of a browser. */
export const DATA_API_ROLES = ['anon', 'authenticated'] as const

/**
 * SQL listing every table hubmirror created: whatever is in the internal schema (so a table a
 * later migration adds is covered without being named here) plus the two replica tables.
 */
export const OWN_TABLES_SQL = `
  SELECT n.nspname AS schema, c.relname AS name, c.relrowsecurity AS rls, c.relforcerowsecurity AS force_rls
    FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
   WHERE c.relkind IN ('r', 'p')
     AND (n.nspname = '${INTERNAL_SCHEMA}'
          OR (n.nspname = 'public' AND c.relname IN (${REPLICA_TABLES.map((t) => `'${t.split('.')[1]}'`).join(', ')})))
   ORDER BY n.nspname <> 'public', n.nspname, c.relname`

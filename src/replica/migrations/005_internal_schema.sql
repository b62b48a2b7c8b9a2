-- Safe on Supabase: the internal tables move out of the Data API's `public` schema into `hubmirror`,
-- and every table hubmirror owns gets RLS with no policy, so `anon` and `authenticated` see nothing.
-- SET SCHEMA keeps rows, indexes, constraints and the owned seq sequence (its value included), so
-- every realtime cursor stays valid. The runner has already created the schema and moved the
-- migrations ledger (migrate.ts), and after this it enables RLS on, and revokes the Data API roles
-- from, everything in `hubmirror` (here and in every later migration's tables).
ALTER TABLE public.replica_events SET SCHEMA hubmirror;
ALTER TABLE public.replica_events_retention SET SCHEMA hubmirror;
ALTER TABLE public.sync_state SET SCHEMA hubmirror;
ALTER TABLE public.hubmirror_state SET SCHEMA hubmirror;
ALTER TABLE public.write_intents SET SCHEMA hubmirror;

-- The replica tables stay in `public` (the contract): RLS on, and no privileges for the Data API
-- roles (Supabase's default privileges gave them ALL, and TRUNCATE ignores RLS). Reading them from
-- supabase-js is opt-in: `hubmirror db policies --read exams.view`.
ALTER TABLE public.hubspot_mock_exams ENABLE ROW LEVEL SECURITY;
ALTER TABLE public.hubspot_bookings ENABLE ROW LEVEL SECURITY;
-- Plain Postgres and PGlite have no such roles: only revoke from those that exist.
DO $$
DECLARE
  r text;
BEGIN
  FOREACH r IN ARRAY ARRAY['anon', 'authenticated'] LOOP
    IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = r) THEN
      EXECUTE format('REVOKE ALL ON public.hubspot_mock_exams, public.hubspot_bookings FROM %I', r);
    END IF;
  END LOOP;
END $$;

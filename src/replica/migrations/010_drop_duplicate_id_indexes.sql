-- The seed schema's plain hubspot_id indexes duplicate the UNIQUE (hubspot_id) constraints' own
-- indexes: every row written maintained the same B-tree twice (a backfill's tail is bound by the
-- writer), and every lookup could already use the constraint's index.
DROP INDEX IF EXISTS public.idx_bookings_hubspot_id;
DROP INDEX IF EXISTS public.idx_exams_hubspot_id;

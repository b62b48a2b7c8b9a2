-- Finding a student across exams (GET /api/bookings?q=): a trigram index answers ILIKE '%q%' on
-- name, email and student id together, on Postgres and on embedded PGlite (which loads pg_trgm).
-- Trigrams, not full text: people type part of an email ("jsmith@", "@gmail") or of an id
-- ("S1042"), which full text would split into tokens and match only whole words of.
-- pg_trgm is a trusted extension (Postgres 13+): the database owner may create it; on Supabase it
-- may already be in the `extensions` schema, which the session's search_path includes.
CREATE EXTENSION IF NOT EXISTS pg_trgm;

-- One expression over the three fields, joined by a newline so that a match cannot span two of
-- them (the API refuses control characters in q); live rows only, as the search reads. The very
-- same expression is in src/replica/search.ts (STUDENT_SEARCH_TEXT): Postgres uses the index only
-- for a query written with it.
CREATE INDEX IF NOT EXISTS idx_bookings_student_search ON public.hubspot_bookings
  USING gin ((coalesce(student_name, '') || E'\n' || coalesce(student_email, '') || E'\n' || coalesce(student_id, '')) gin_trgm_ops)
  WHERE deleted_at IS NULL;

-- Statistics on that expression: without them the planner guesses a pattern's share from its
-- length, and for a common word (a surname ~10% of bookings share) it read every match through the
-- index and sorted them (600 ms at 200k bookings) instead of walking the newest bookings until a
-- page is full (1 ms). With them it knows, and picks the right plan each way (bench/RESULTS.md).
CREATE STATISTICS IF NOT EXISTS public.hubspot_bookings_student_search_stats
  ON ((coalesce(student_name, '') || E'\n' || coalesce(student_email, '') || E'\n' || coalesce(student_id, '')))
  FROM public.hubspot_bookings;
-- Gathered now for the rows already here; autovacuum keeps them fresh on a server.
ANALYZE public.hubspot_bookings;

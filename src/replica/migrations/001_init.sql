-- The replica tables (the seed's columns, plus versioning and soft deletes), the change log,
-- the sync state and the write-intent journal.

CREATE TABLE IF NOT EXISTS public.hubspot_mock_exams (
  id UUID PRIMARY KEY DEFAULT gen_random_uuid(),
  hubspot_id TEXT UNIQUE NOT NULL,
  mock_exam_name TEXT,
  mock_type TEXT,
  exam_date DATE,
  start_time TEXT,
  end_time TEXT,
  location TEXT,
  capacity INTEGER,
  total_bookings INTEGER DEFAULT 0,
  is_active TEXT,
  created_at TIMESTAMPTZ,
  updated_at TIMESTAMPTZ,
  synced_at TIMESTAMPTZ DEFAULT NOW(),
  hs_lastmodifieddate TIMESTAMPTZ NOT NULL,
  deleted_at TIMESTAMPTZ
);

CREATE TABLE IF NOT EXISTS public.hubspot_bookings (
  id UUID PRIMARY KEY DEFAULT gen_random_uuid(),
  hubspot_id TEXT UNIQUE NOT NULL,
  booking_id TEXT,
  mock_exam_id TEXT,
  contact_id TEXT,
  student_id TEXT,
  student_name TEXT,
  student_email TEXT,
  booking_status TEXT,
  is_active TEXT,
  attendance TEXT,
  attending_location TEXT,
  exam_date TIMESTAMPTZ,
  dominant_hand TEXT,
  created_at TIMESTAMPTZ,
  updated_at TIMESTAMPTZ,
  synced_at TIMESTAMPTZ DEFAULT NOW(),
  hs_lastmodifieddate TIMESTAMPTZ NOT NULL,
  deleted_at TIMESTAMPTZ
);

-- The seed's indexes (hubspot_id already has its UNIQUE index; the seed adds these anyway).
CREATE INDEX IF NOT EXISTS idx_bookings_hubspot_id ON public.hubspot_bookings(hubspot_id);
CREATE INDEX IF NOT EXISTS idx_bookings_exam_id ON public.hubspot_bookings(mock_exam_id);
CREATE INDEX IF NOT EXISTS idx_exams_hubspot_id ON public.hubspot_mock_exams(hubspot_id);
-- Ours: the list is filtered and ordered by date; bookings are looked up by their idempotency key.
CREATE INDEX IF NOT EXISTS idx_exams_exam_date ON public.hubspot_mock_exams(exam_date);
CREATE INDEX IF NOT EXISTS idx_bookings_booking_id ON public.hubspot_bookings(booking_id);

-- The change log: one row per replica change, written in the same transaction as the change.
CREATE TABLE IF NOT EXISTS public.replica_events (
  seq BIGSERIAL PRIMARY KEY,
  kind TEXT NOT NULL CHECK (kind IN ('exam', 'booking')),
  op TEXT NOT NULL CHECK (op IN ('upsert', 'delete')),
  hubspot_id TEXT NOT NULL,
  exam_id TEXT,
  source TEXT NOT NULL CHECK (source IN ('write', 'sync', 'manual')),
  row_data JSONB,
  created_at TIMESTAMPTZ NOT NULL DEFAULT NOW()
);
CREATE INDEX IF NOT EXISTS idx_replica_events_exam_seq ON public.replica_events(exam_id, seq);

-- How far the change log has been pruned: a cursor below this must refetch.
CREATE TABLE IF NOT EXISTS public.replica_events_retention (
  id BOOLEAN PRIMARY KEY DEFAULT TRUE CHECK (id),
  pruned_through BIGINT NOT NULL DEFAULT 0
);
INSERT INTO public.replica_events_retention (id, pruned_through) VALUES (TRUE, 0) ON CONFLICT DO NOTHING;

-- Sync state per object type: the incremental cursor, the archived cursor, backfill progress.
CREATE TABLE IF NOT EXISTS public.sync_state (
  object_type TEXT PRIMARY KEY,
  cursor_ms BIGINT,
  archived_cursor_ms BIGINT,
  backfill JSONB,
  last_pull_started_at TIMESTAMPTZ,
  last_pull_finished_at TIMESTAMPTZ,
  last_pull_ok_at TIMESTAMPTZ,
  last_pull_result JSONB,
  last_error TEXT,
  updated_at TIMESTAMPTZ NOT NULL DEFAULT NOW()
);

-- Key/value state shared by instances (drift report, backfill completion, counters).
CREATE TABLE IF NOT EXISTS public.hubmirror_state (
  key TEXT PRIMARY KEY,
  value JSONB NOT NULL,
  updated_at TIMESTAMPTZ NOT NULL DEFAULT NOW()
);

-- The write-intent journal: recorded before the HubSpot call, resolved after it or on recovery.
CREATE TABLE IF NOT EXISTS public.write_intents (
  id UUID PRIMARY KEY DEFAULT gen_random_uuid(),
  kind TEXT NOT NULL,
  idempotency_key TEXT,
  exam_id TEXT,
  target_id TEXT,
  payload JSONB NOT NULL,
  status TEXT NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'done', 'failed')),
  result JSONB,
  error TEXT,
  attempts INTEGER NOT NULL DEFAULT 0,
  created_at TIMESTAMPTZ NOT NULL DEFAULT NOW(),
  resolved_at TIMESTAMPTZ
);
CREATE INDEX IF NOT EXISTS idx_write_intents_pending ON public.write_intents(status) WHERE status = 'pending';
CREATE UNIQUE INDEX IF NOT EXISTS idx_write_intents_idempotency ON public.write_intents(kind, idempotency_key) WHERE idempotency_key IS NOT NULL;

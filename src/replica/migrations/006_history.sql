-- Field-level change events and a history that outlives the change log's retention.
--
-- Every change-log row now says which fields changed (`changes`: {field: [old, new]}) and who made
-- the change (`origin`). The same facts go, in the same statement, into hubmirror.record_history,
-- which retention never prunes: the change log is a stream to resume from, the history is what an
-- admin asks "who changed this, and when?" of. A table rather than a compacted archive: the
-- question is always about one record, newest first, a page at a time, which an index on
-- (kind, hubspot_id, seq) answers directly, and a row written in the replica's own transaction
-- can never disagree with the log (an archive would be written after the fact, by a job that can
-- fall behind or fail). It keeps only the changes and their origin, not whole rows, so it grows by
-- the size of what changed (bench/RESULTS.md records its size per 1,000 changes).
ALTER TABLE hubmirror.replica_events ADD COLUMN IF NOT EXISTS changes JSONB;
ALTER TABLE hubmirror.replica_events ADD COLUMN IF NOT EXISTS origin JSONB;

CREATE TABLE IF NOT EXISTS hubmirror.record_history (
  seq BIGINT PRIMARY KEY,
  kind TEXT NOT NULL CHECK (kind IN ('exam', 'booking')),
  op TEXT NOT NULL CHECK (op IN ('upsert', 'delete')),
  hubspot_id TEXT NOT NULL,
  exam_id TEXT,
  source TEXT NOT NULL,
  changes JSONB,
  origin JSONB,
  created_at TIMESTAMPTZ NOT NULL
);
CREATE INDEX IF NOT EXISTS idx_record_history_record ON hubmirror.record_history(kind, hubspot_id, seq);

-- What the retained log already knows, without field changes (unknown before this migration).
INSERT INTO hubmirror.record_history (seq, kind, op, hubspot_id, exam_id, source, changes, origin, created_at)
SELECT seq, kind, op, hubspot_id, exam_id, source, NULL, NULL, created_at FROM hubmirror.replica_events
ON CONFLICT (seq) DO NOTHING;

-- Attendance speaks the API's values in the replica (`attended` / `no_show`); HubSpot keeps the
-- seed's "Yes" / "No" and hubspot/mapping.ts translates at the boundary.
UPDATE public.hubspot_bookings
   SET attendance = CASE attendance WHEN 'Yes' THEN 'attended' ELSE 'no_show' END
 WHERE attendance IN ('Yes', 'No');

-- The guards of cancels and attendance writes look for writes in flight on a booking.
CREATE INDEX IF NOT EXISTS idx_write_intents_pending_target ON hubmirror.write_intents(target_id) WHERE status = 'pending';

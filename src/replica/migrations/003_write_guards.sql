-- Intent keys that expire with their intent, idempotency keys bound to their request, and the
-- index the capacity reservation reads.
--
-- write_intents is in `public` when this runs in order, and already in `hubmirror` on a database
-- that took 005 before this one existed: the statements name whichever schema holds it.
DO $$
DECLARE
  s text := CASE WHEN to_regclass('hubmirror.write_intents') IS NOT NULL THEN 'hubmirror' ELSE 'public' END;
BEGIN
  -- An intent's key blocks the same write only while that intent is pending: once it is done or
  -- failed, the row's own state decides (a booking re-confirmed in HubSpot can be cancelled
  -- again). A create's booking_id is remembered by hubmirror.idempotency_keys and the booking.
  EXECUTE format('DROP INDEX IF EXISTS %I.idx_write_intents_idempotency', s);
  EXECUTE format(
    'CREATE UNIQUE INDEX IF NOT EXISTS idx_write_intents_pending_key ON %I.write_intents(kind, idempotency_key) '
    'WHERE idempotency_key IS NOT NULL AND status = ''pending''', s);
  -- The reservation a create must fit under: this exam's pending creates, updates and archives.
  EXECUTE format(
    'CREATE INDEX IF NOT EXISTS idx_write_intents_pending_exam ON %I.write_intents(exam_id, kind) '
    'WHERE status = ''pending''', s);
END $$;

-- Idempotency keys: the key, a SHA-256 of the canonical request (body and token subject), the
-- intent it started and the first answer; kept at least 24 h (expires_at), then pruned.
CREATE SCHEMA IF NOT EXISTS hubmirror;
CREATE TABLE IF NOT EXISTS hubmirror.idempotency_keys (
  scope TEXT NOT NULL,
  key TEXT NOT NULL,
  request_hash TEXT NOT NULL,
  intent_id UUID NOT NULL,
  response JSONB,
  created_at TIMESTAMPTZ NOT NULL DEFAULT NOW(),
  expires_at TIMESTAMPTZ NOT NULL,
  PRIMARY KEY (scope, key)
);
CREATE INDEX IF NOT EXISTS idx_idempotency_keys_expires ON hubmirror.idempotency_keys(expires_at);
ALTER TABLE hubmirror.idempotency_keys ENABLE ROW LEVEL SECURITY;

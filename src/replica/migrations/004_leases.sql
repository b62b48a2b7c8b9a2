-- Leases: cluster-wide locks that outlive one transaction where no real session exists to hold an
-- advisory lock (a transaction pooler such as Supavisor on 6543 or PgBouncer pool_mode=transaction).
-- A holder renews its row well before expires_at; a crashed holder's lease simply runs out.
-- The runner has created the schema (migrate.ts) and hardens everything in it after migrating.
CREATE TABLE IF NOT EXISTS hubmirror.leases (
  name TEXT PRIMARY KEY,
  holder TEXT NOT NULL,
  expires_at TIMESTAMPTZ NOT NULL,
  renewed_at TIMESTAMPTZ NOT NULL DEFAULT NOW()
);
ALTER TABLE hubmirror.leases ENABLE ROW LEVEL SECURITY;

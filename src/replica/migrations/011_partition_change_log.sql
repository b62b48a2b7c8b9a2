-- The change log partitioned by seq range (bench/RESULTS.md, "The change log in partitions"):
-- pruning a year of events deleted every row one by one, and the first touch of each heap page after
-- a checkpoint wrote the whole page to the WAL (1.6 GB for 4.9M events), which set off checkpoints
-- that held writers' commits for up to 190 ms. Now a prune drops whole partitions (a catalog change)
-- and deletes rows only in the one partition its boundary falls in.
--
-- The table as it was becomes the first partition, holding every seq up to today's head (its rows
-- and indexes stay where they are; a prune drops it whole once its last event is past retention);
-- src/replica/change-log-partitions.ts adds the partitions after it, ahead of the appends. A default partition takes any event that arrives before its partition
-- exists, so an append never fails for want of one.
DO $$
DECLARE
  upto bigint;
BEGIN
  IF (SELECT c.relkind FROM pg_class c WHERE c.oid = 'hubmirror.replica_events'::regclass) = 'p' THEN
    RETURN;
  END IF;
  SELECT coalesce(max(seq), 0) + 1 INTO upto FROM hubmirror.replica_events;
  ALTER TABLE hubmirror.replica_events RENAME TO replica_events_from_0;
  ALTER INDEX hubmirror.replica_events_pkey RENAME TO replica_events_from_0_pkey;
  ALTER INDEX hubmirror.idx_replica_events_exam_seq RENAME TO replica_events_from_0_exam_id_seq_idx;
  CREATE TABLE hubmirror.replica_events (
    LIKE hubmirror.replica_events_from_0 INCLUDING DEFAULTS INCLUDING CONSTRAINTS,
    PRIMARY KEY (seq)
  ) PARTITION BY RANGE (seq);
  -- The sequence belonged to the old table's column: dropping that partition would drop it too.
  ALTER SEQUENCE hubmirror.replica_events_seq_seq OWNED BY hubmirror.replica_events.seq;
  CREATE INDEX idx_replica_events_exam_seq ON hubmirror.replica_events (exam_id, seq);
  -- Its existing indexes are taken as the partition's own: nothing is rebuilt.
  EXECUTE format(
    'ALTER TABLE hubmirror.replica_events ATTACH PARTITION hubmirror.replica_events_from_0 FOR VALUES FROM (0) TO (%s)',
    upto
  );
  CREATE TABLE hubmirror.replica_events_default PARTITION OF hubmirror.replica_events DEFAULT;
END $$;

-- Indexes the plans at a real account's size asked for (bench/scale, bench/RESULTS.md "Scale").
-- Reconcile walks each replica table in HubSpot's id order (numeric: shorter ids first) beside the
-- listing, a page at a time, instead of holding every id in memory; with the version and the
-- deleted mark included it never reads the table itself.
CREATE INDEX IF NOT EXISTS idx_exams_id_order
  ON public.hubspot_mock_exams ((length(hubspot_id)), hubspot_id) INCLUDE (hs_lastmodifieddate, deleted_at);
CREATE INDEX IF NOT EXISTS idx_bookings_id_order
  ON public.hubspot_bookings ((length(hubspot_id)), hubspot_id) INCLUDE (hs_lastmodifieddate, deleted_at);
-- Keyset pages: the exam list in its order (date, start, id; missing values last), one exam's
-- bookings in theirs (created, id), each a range scan from the cursor that stops after the page
-- (the expressions are src/replica/reads.ts's EXAM_KEY and BOOKING_KEY).
CREATE INDEX IF NOT EXISTS idx_exams_list_order
  ON public.hubspot_mock_exams ((coalesce(exam_date, 'infinity'::date)), (coalesce(start_time, '')), hubspot_id)
  WHERE deleted_at IS NULL;
CREATE INDEX IF NOT EXISTS idx_bookings_exam_order
  ON public.hubspot_bookings (mock_exam_id, (coalesce(created_at, 'infinity'::timestamptz)), hubspot_id)
  WHERE deleted_at IS NULL;

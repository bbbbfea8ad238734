-- History's prefix index on the prefix alone, instead of (prefix, ts).
--
-- Every route change adds a history row, and its prefix entry lands at a
-- random place in this index: under churn on full tables it was the
-- largest index written at random. With the prefix alone, the rows of one
-- prefix (every peer's, every change's) are duplicates of one key, which
-- PostgreSQL stores once with a list of row pointers (B-tree
-- deduplication). With 21 M history rows, history's two indexes took
-- 361 MB instead of 1188 MB, and PostgreSQL's CPU under churn fell 7 -
-- 15 % (perf/runs/2026-12-05-vm/churn-50k-history-prefix-index). "History
-- of a prefix" reads the same entries and sorts its few rows by time.
--
-- The index is built over the history kept so far, which takes a while
-- on a large history: writes to route_history wait meanwhile (the
-- collector's writers queue and spill), reads go on; the old index is
-- dropped at the end, which holds reads only for that moment.
CREATE INDEX route_history_prefix_only ON route_history (prefix);
DROP INDEX route_history_prefix;
ALTER INDEX route_history_prefix_only RENAME TO route_history_prefix;

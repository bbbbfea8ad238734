-- Re-dumps after a router session is lost reuse the routes they find
-- unchanged instead of rewriting them.
--
-- A session lost (TCP lost, Termination, a collector restart) hides the
-- peer's routes at once, as Peer Down does (flushed_below), but keeps the
-- hidden rows with epochs from `kept_from` for STALE_TIMEOUT_SECONDS after
-- `lost_at`: the router's re-dump (its next Peer Up, `redump_epoch`) is
-- compared with them by the collector, in memory (`redump_in_writer`). A
-- route re-announced unchanged is neither rewritten nor given a
-- route_history row (it did not change); at the re-dump's stale sweep the
-- kept rows not re-announced unchanged are deleted (history 'stale') and
-- the others become current again (flushed_below back to kept_from). Past
-- the timeout, or after a Peer Down, the kept rows are deleted in the
-- background.
ALTER TABLE peers ADD COLUMN kept_from        int8;
ALTER TABLE peers ADD COLUMN lost_at          timestamptz;
ALTER TABLE peers ADD COLUMN redump_epoch     int8;
ALTER TABLE peers ADD COLUMN redump_in_writer boolean NOT NULL DEFAULT false;

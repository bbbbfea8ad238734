-- Re-dumps after a router session is lost reuse the routes they find
-- unchanged instead of rewriting them.
--
-- A session lost (TCP lost, Termination, a collector restart) hides the
-- peer's routes at once, as Peer Down does (flushed_below), but keeps the
-- hidden rows with epochs from `kept_from` for STALE_TIMEOUT_SECONDS after
-- `lost_at`: the router's re-dump (its next Peer Up, `redump_epoch`)
-- compares its announcements with them. A route re-announced unchanged is
-- not rewritten and, when the collector compares, gets no route_history
-- row (it did not change); at the re-dump's stale sweep the kept rows not
-- re-announced unchanged are deleted (history 'stale') and the others
-- become current again (flushed_below back to kept_from). The collector compares in memory (`redump_in_writer`), or has
-- the database note the unchanged routes in `rib_seen`. Past the timeout,
-- or after a Peer Down, the kept rows are deleted in the background.
ALTER TABLE peers ADD COLUMN kept_from        int8;
ALTER TABLE peers ADD COLUMN lost_at          timestamptz;
ALTER TABLE peers ADD COLUMN redump_epoch     int8;
ALTER TABLE peers ADD COLUMN redump_in_writer boolean NOT NULL DEFAULT false;

-- Internal bookkeeping of the PostgreSQL store, like `applied_batches`.
CREATE TABLE rib_seen (
    peer_id  int8 NOT NULL,
    epoch    int8 NOT NULL,
    rd       text NOT NULL,
    prefix   cidr NOT NULL,
    path_id  int8 NOT NULL
);
CREATE INDEX rib_seen_peer ON rib_seen (peer_id, epoch);

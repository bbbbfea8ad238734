-- Router sessions lost keep their peers' routes; re-dumps that change
-- nothing write nothing to `rib` or `route_history`.
--
-- peers.state gains 'stale' and peer_events gain 'lost': a router session
-- that ends without Peer Down (TCP lost, Termination, a collector
-- restart) leaves its peers stale, their routes current (peers.flushed_below
-- is raised by Peer Down only), until the router brings the peer up again
-- and re-dumps it, or the stale timeout passes from `stale_since` (then the
-- peer is 'down' and its routes flushed). A Peer Up of a stale peer makes
-- its dump a re-dump over kept routes (`redump_epoch`): an announcement
-- equal to the current row leaves the row as it is and gets no history
-- row. The collector compares such a re-dump in memory
-- (`redump_in_writer`), or has the database note the unchanged routes in
-- `rib_seen`; the stale sweep at the end of the re-dump (End-of-RIB, or
-- the stale timeout) removes the routes of earlier epochs neither
-- re-announced with a change nor seen unchanged.
ALTER TABLE peers ADD COLUMN stale_since      timestamptz;
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

-- How a batch's routes were compared (0: not, 1: by the collector, 2: by
-- the database), so that a batch replayed after a restart, one part of it
-- applied, applies the other part the same way.
ALTER TABLE applied_batches ADD COLUMN compared int2 NOT NULL DEFAULT 0;

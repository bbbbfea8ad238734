-- Re-dumps that change nothing write nothing to `rib` or `route_history`.
--
-- A router session lost without Peer Down (TCP lost, Termination, a
-- collector restart) leaves its peers `stale`: their routes stay current
-- until the router brings the peer up again and re-dumps, or the stale
-- timeout passes (then the peer is `down` and its routes flushed). In a
-- re-dump over kept routes, an announcement equal to the current row (same
-- attribute set, labels and family) leaves that row as it is and is only
-- noted here; the stale sweep at the end of the re-dump (End-of-RIB, or
-- the stale timeout) removes the routes of earlier epochs that were
-- neither re-announced with a change nor noted, and clears the notes.
-- Internal bookkeeping of the PostgreSQL store (the SQLite store rewrites
-- re-announced routes), like `applied_batches`.
CREATE TABLE rib_seen (
    peer_id  int8 NOT NULL,
    epoch    int8 NOT NULL,
    rd       text NOT NULL,
    prefix   cidr NOT NULL,
    path_id  int8 NOT NULL
);

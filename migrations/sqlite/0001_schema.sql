-- Riptide's schema on the embedded store (SQLite): the same tables,
-- columns and view as on PostgreSQL (migrations/postgres/0001_schema.sql).
-- Addresses and prefixes are text ('192.0.2.0/24'), timestamps are text in
-- UTC ('2026-12-02 14:00:00.123456', comparable with datetime()), arrays
-- are space-separated text.

CREATE TABLE routers (
    id          INTEGER PRIMARY KEY,
    address     TEXT    NOT NULL UNIQUE,
    sys_name    TEXT,
    sys_descr   TEXT,
    first_seen  TEXT    NOT NULL,
    last_seen   TEXT    NOT NULL,
    connected   INTEGER NOT NULL
);

CREATE TABLE peers (
    id               INTEGER PRIMARY KEY,
    router_id        INTEGER NOT NULL,
    router_address   TEXT    NOT NULL,
    peer_type        TEXT    NOT NULL,
    rd               TEXT    NOT NULL,
    peer_address     TEXT    NOT NULL,
    peer_as          INTEGER NOT NULL,
    bgp_id           TEXT    NOT NULL,
    rib              TEXT    NOT NULL,
    state            TEXT    NOT NULL,
    epoch            INTEGER NOT NULL DEFAULT 0,
    flushed_below    INTEGER NOT NULL DEFAULT 0,
    cleanup_pending  INTEGER NOT NULL DEFAULT 0,
    capabilities     TEXT,
    first_seen       TEXT    NOT NULL,
    last_up          TEXT,
    last_down        TEXT,
    last_down_reason TEXT
);
CREATE INDEX peers_router ON peers (router_id);

CREATE TABLE attribute_sets (
    id                INTEGER PRIMARY KEY,
    origin            TEXT,
    as_path           TEXT,
    origin_as         INTEGER,
    next_hop          TEXT,
    med               INTEGER,
    local_pref        INTEGER,
    atomic_aggregate  INTEGER NOT NULL,
    aggregator        TEXT,
    communities       TEXT,
    ext_communities   TEXT,
    large_communities TEXT,
    originator_id     TEXT,
    cluster_list      TEXT,
    otc               INTEGER,
    other_attrs       BLOB,
    first_seen        TEXT    NOT NULL
);

CREATE TABLE rib (
    peer_id      INTEGER NOT NULL,
    rd           TEXT    NOT NULL,
    prefix       TEXT    NOT NULL,
    path_id      INTEGER NOT NULL,
    afi          INTEGER NOT NULL,
    safi         INTEGER NOT NULL,
    labels       TEXT,
    attrs_id     INTEGER NOT NULL,
    epoch        INTEGER NOT NULL,
    first_seen   TEXT    NOT NULL,
    last_updated TEXT    NOT NULL,
    PRIMARY KEY (peer_id, rd, prefix, path_id)
) WITHOUT ROWID;

CREATE VIEW routes AS
SELECT r.peer_id, p.router_address, p.rd AS peer_rd, p.peer_address, p.peer_as, p.rib,
       r.prefix, r.path_id, r.afi, r.safi, NULLIF(r.rd, '') AS rd, r.labels,
       a.origin, a.as_path, a.origin_as, a.next_hop, a.med, a.local_pref,
       a.atomic_aggregate, a.aggregator, a.communities, a.ext_communities,
       a.large_communities, a.originator_id, a.cluster_list, a.otc,
       a.other_attrs, r.attrs_id, r.first_seen, r.last_updated
  FROM rib r
  JOIN peers p ON p.id = r.peer_id AND r.epoch >= p.flushed_below
  JOIN attribute_sets a ON a.id = r.attrs_id;

CREATE TABLE route_history (
    ts        TEXT    NOT NULL,
    peer_id   INTEGER NOT NULL,
    rd        TEXT    NOT NULL,
    prefix    TEXT    NOT NULL,
    path_id   INTEGER NOT NULL,
    afi       INTEGER NOT NULL,
    safi      INTEGER NOT NULL,
    labels    TEXT,
    action    TEXT    NOT NULL,
    attrs_id  INTEGER
);
CREATE INDEX route_history_prefix ON route_history (prefix, ts);
CREATE INDEX route_history_peer ON route_history (peer_id, ts);

CREATE TABLE stats (
    ts        TEXT    NOT NULL,
    router_id INTEGER NOT NULL,
    peer_id   INTEGER NOT NULL,
    stat_type INTEGER NOT NULL,
    stat_name TEXT    NOT NULL,
    afi       INTEGER,
    safi      INTEGER,
    value     INTEGER
);
CREATE INDEX stats_peer ON stats (peer_id, ts);

CREATE TABLE peer_events (
    ts        TEXT    NOT NULL,
    peer_id   INTEGER NOT NULL,
    event     TEXT    NOT NULL,
    epoch     INTEGER NOT NULL,
    reason    TEXT,
    detail    TEXT
);
CREATE INDEX peer_events_peer ON peer_events (peer_id, ts);
CREATE INDEX peer_events_ts ON peer_events (ts);

CREATE TABLE router_events (
    ts        TEXT    NOT NULL,
    router_id INTEGER NOT NULL,
    event     TEXT    NOT NULL,
    detail    TEXT
);
CREATE INDEX router_events_router ON router_events (router_id, ts);

CREATE TABLE applied_batches (
    stream    TEXT    NOT NULL,
    seq       INTEGER NOT NULL,
    part      INTEGER NOT NULL,
    applied   TEXT    NOT NULL,
    PRIMARY KEY (stream, seq, part)
);

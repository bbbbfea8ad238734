-- Riptide's schema on PostgreSQL 14+ (TimescaleDB used when available).
--
-- Physical tables: routers, peers, attribute_sets, rib, route_history,
-- peer_events, router_events, stats. The current RIB that operators query
-- is the view `routes` (rib joined with its peer and attribute set): a
-- peer that goes down hides its routes at once (peers.flushed_below), and
-- the collector deletes the hidden rows in the background.

CREATE TABLE routers (
    id          int8        PRIMARY KEY,   -- hash of the address
    address     inet        NOT NULL UNIQUE,
    sys_name    text,
    sys_descr   text,
    first_seen  timestamptz NOT NULL,
    last_seen   timestamptz NOT NULL,
    connected   boolean     NOT NULL
);

CREATE TABLE peers (
    id               int8        PRIMARY KEY,   -- hash of router, type, RD, address, RIB
    router_id        int8        NOT NULL,
    router_address   inet        NOT NULL,
    peer_type        text        NOT NULL,      -- global, rd-instance, local, loc-rib
    rd               text        NOT NULL,      -- '' for global peers
    peer_address     inet        NOT NULL,
    peer_as          int8        NOT NULL,
    bgp_id           inet        NOT NULL,
    rib              text        NOT NULL,      -- adj-rib-in-pre, adj-rib-in-post, loc-rib, adj-rib-out-pre, adj-rib-out-post
    state            text        NOT NULL,      -- up, down
    epoch            int8        NOT NULL DEFAULT 0,
    -- Routes with rib.epoch below this are gone (peer down, session lost).
    flushed_below    int8        NOT NULL DEFAULT 0,
    cleanup_pending  boolean     NOT NULL DEFAULT false,
    capabilities     text,                      -- negotiated: both OPENs
    first_seen       timestamptz NOT NULL,
    last_up          timestamptz,
    last_down        timestamptz,
    last_down_reason text
);
CREATE INDEX peers_router ON peers (router_id);
CREATE INDEX peers_cleanup ON peers (id) WHERE cleanup_pending;

-- Path attributes, stored once per distinct set. `id` is a 64-bit xxh3
-- over every attribute as received (unknown ones included; MP_REACH's
-- next hop, not its NLRI).
CREATE TABLE attribute_sets (
    id                int8        PRIMARY KEY,
    origin            text,
    as_path           text,
    origin_as         int8,
    next_hop          inet,
    med               int8,
    local_pref        int8,
    atomic_aggregate  boolean     NOT NULL,
    aggregator        text,
    communities       text[],
    ext_communities   text[],
    large_communities text[],
    originator_id     inet,
    cluster_list      text[],
    otc               int8,
    other_attrs       bytea,      -- unknown attributes: (flags, code, length, value)...
    first_seen        timestamptz NOT NULL
);

CREATE TABLE rib (
    peer_id      int8        NOT NULL,
    rd           text        NOT NULL,   -- '' outside VPN families
    prefix       cidr        NOT NULL,
    path_id      int8        NOT NULL,   -- 0 without ADD-PATH
    afi          int2        NOT NULL,
    safi         int2        NOT NULL,
    labels       text,
    attrs_id     int8        NOT NULL,
    epoch        int8        NOT NULL,
    first_seen   timestamptz NOT NULL,
    last_updated timestamptz NOT NULL,
    PRIMARY KEY (peer_id, rd, prefix, path_id)
);

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

-- action: 'announce', 'withdraw', or 'stale' (not re-announced by the
-- End-of-RIB or stale timeout after a Peer Up).
DO $$
DECLARE
    timescale boolean := EXISTS (SELECT 1 FROM pg_available_extensions WHERE name = 'timescaledb');
    part text := CASE WHEN timescale THEN '' ELSE ' PARTITION BY RANGE (ts)' END;
BEGIN
    IF timescale THEN
        CREATE EXTENSION IF NOT EXISTS timescaledb;
    END IF;
    EXECUTE 'CREATE TABLE route_history (
        ts        timestamptz NOT NULL,
        peer_id   int8        NOT NULL,
        rd        text        NOT NULL,
        prefix    cidr        NOT NULL,
        path_id   int8        NOT NULL,
        afi       int2        NOT NULL,
        safi      int2        NOT NULL,
        labels    text,
        action    text        NOT NULL,
        attrs_id  int8
    )' || part;
    EXECUTE 'CREATE TABLE stats (
        ts        timestamptz NOT NULL,
        router_id int8        NOT NULL,
        peer_id   int8        NOT NULL,
        stat_type int4        NOT NULL,
        stat_name text        NOT NULL,
        afi       int2,
        safi      int2,
        value     int8
    )' || part;
    IF timescale THEN
        PERFORM create_hypertable('route_history', 'ts', chunk_time_interval => interval '1 day');
        PERFORM create_hypertable('stats', 'ts', chunk_time_interval => interval '1 day');
        ALTER TABLE route_history SET (timescaledb.compress, timescaledb.compress_segmentby = 'peer_id');
        PERFORM add_compression_policy('route_history', interval '2 days');
    ELSE
        CREATE TABLE route_history_default PARTITION OF route_history DEFAULT;
        CREATE TABLE stats_default PARTITION OF stats DEFAULT;
    END IF;
END
$$;
CREATE INDEX route_history_prefix ON route_history (prefix, ts);
CREATE INDEX route_history_peer ON route_history (peer_id, ts);
CREATE INDEX stats_peer ON stats (peer_id, ts);

CREATE TABLE peer_events (
    ts        timestamptz NOT NULL,
    peer_id   int8        NOT NULL,
    event     text        NOT NULL,   -- up, down, end-of-rib, stale-sweep, flush, mirroring
    epoch     int8        NOT NULL,
    reason    text,
    detail    text
);
CREATE INDEX peer_events_peer ON peer_events (peer_id, ts);
CREATE INDEX peer_events_ts ON peer_events (ts);

CREATE TABLE router_events (
    ts        timestamptz NOT NULL,
    router_id int8        NOT NULL,
    event     text        NOT NULL,   -- connect, initiation, termination, disconnect
    detail    text
);
CREATE INDEX router_events_router ON router_events (router_id, ts);

-- Batches applied, by writer stream and number: a batch retried after a
-- lost COMMIT acknowledgement, or replayed from a spill file, is
-- recognised and not applied twice. Rows older than a week are pruned.
CREATE TABLE applied_batches (
    stream    text        NOT NULL,
    seq       int8        NOT NULL,
    part      int2        NOT NULL,   -- 0: RIB and events, 1: history and statistics
    applied   timestamptz NOT NULL,
    PRIMARY KEY (stream, seq, part)
);

-- Daily partitions (plain PostgreSQL): creates today's and the next
-- `ahead` days', and drops those older than `retention_days` (0 keeps all).
CREATE FUNCTION riptide_maintain_partitions(retention_days int, ahead int DEFAULT 3)
RETURNS void LANGUAGE plpgsql AS $$
DECLARE
    t text;
    d date;
    r record;
BEGIN
    IF EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'timescaledb') THEN
        RETURN;
    END IF;
    FOREACH t IN ARRAY ARRAY['route_history', 'stats'] LOOP
        FOR i IN 0..ahead LOOP
            d := current_date + i;
            IF to_regclass(format('%s_%s', t, to_char(d, 'YYYYMMDD'))) IS NULL THEN
                -- Rows of that day already in the default partition move out first.
                EXECUTE format('CREATE TABLE %I (LIKE %I INCLUDING DEFAULTS)', format('%s_%s', t, to_char(d, 'YYYYMMDD')), t);
                EXECUTE format('WITH moved AS (DELETE FROM %I WHERE ts >= %L AND ts < %L RETURNING *) INSERT INTO %I SELECT * FROM moved',
                               t || '_default', d, d + 1, format('%s_%s', t, to_char(d, 'YYYYMMDD')));
                EXECUTE format('ALTER TABLE %I ATTACH PARTITION %I FOR VALUES FROM (%L) TO (%L)',
                               t, format('%s_%s', t, to_char(d, 'YYYYMMDD')), d, d + 1);
            END IF;
        END LOOP;
        IF retention_days > 0 THEN
            FOR r IN SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
                      WHERE i.inhparent = t::regclass AND c.relname ~ ('^' || t || '_[0-9]{8}$')
                        AND to_date(right(c.relname, 8), 'YYYYMMDD') < current_date - retention_days LOOP
                EXECUTE format('DROP TABLE %I', r.relname);
            END LOOP;
        END IF;
    END LOOP;
END
$$;

-- micro: 10k updates of existing rib rows, upsert vs update-first; run in a scratch schema
\set ON_ERROR_STOP 1
DROP SCHEMA IF EXISTS ribx CASCADE;
CREATE SCHEMA ribx;
SET search_path = ribx;
CREATE TABLE peers (id int8 PRIMARY KEY, epoch int8, kept_from int8, flushed_below int8);
INSERT INTO peers VALUES (1, 1, NULL, 0);
CREATE TABLE rib (
    peer_id int8 NOT NULL, rd text NOT NULL, prefix cidr NOT NULL, path_id int8 NOT NULL,
    afi int2 NOT NULL, safi int2 NOT NULL, labels text, attrs_id int8 NOT NULL, epoch int8 NOT NULL,
    first_seen timestamptz NOT NULL, last_updated timestamptz NOT NULL,
    PRIMARY KEY (peer_id, rd, prefix, path_id)) WITH (fillfactor = 90);
INSERT INTO rib SELECT 1, '', set_masklen(('10.0.0.0'::inet + i * 256), 24)::cidr, 0, 1, 1, NULL, i, 1, now(), now()
  FROM generate_series(0, 1999999) i;
VACUUM ANALYZE rib;
CREATE TEMP TABLE stage_routes (seq int8, peer_id int8, rd text, prefix cidr, path_id int8, afi int2, safi int2,
    labels text, action int2, epoch int8, attrs_id int8, ts timestamptz) ON COMMIT DELETE ROWS;

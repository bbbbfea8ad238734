#!/usr/bin/env bash
# alternates upsert (A) and update-first (B), 10k updates of existing rows per batch
. /tmp/env.sh
url=$RIPTIDE_TEST_DATABASE_URL
LAST="WITH last AS MATERIALIZED (
    SELECT DISTINCT ON (s.peer_id, s.rd, s.prefix, s.path_id) s.*, s.ts AS first_seen, s.ts AS last_updated
      FROM stage_routes s LEFT JOIN peers p ON p.id = s.peer_id
     WHERE s.epoch >= coalesce(p.epoch, 0)
     ORDER BY s.peer_id, s.rd, s.prefix, s.path_id, s.seq DESC
)"
SET='afi = NEW.afi, safi = NEW.safi, labels = NEW.labels, attrs_id = NEW.attrs_id, epoch = NEW.epoch, last_updated = NEW.last_updated, first_seen = CASE WHEN r.epoch = NEW.epoch THEN r.first_seen WHEN r.epoch < (SELECT coalesce(kept_from, flushed_below) FROM peers WHERE id = r.peer_id) THEN NEW.first_seen ELSE r.first_seen END'
INS="INSERT INTO rib AS r (peer_id, rd, prefix, path_id, afi, safi, labels, attrs_id, epoch, first_seen, last_updated)
SELECT peer_id, rd, prefix, path_id, afi, safi, labels, attrs_id, epoch, ts, ts FROM last l WHERE action = 1"
CONF="ON CONFLICT (peer_id, rd, prefix, path_id) DO UPDATE SET ${SET//NEW/excluded} WHERE r.epoch <= excluded.epoch"
A="$LAST $INS $CONF"
B="$LAST, changed AS (UPDATE rib r SET ${SET//NEW/l} FROM last l WHERE l.action = 1 AND r.peer_id = l.peer_id AND r.rd = l.rd AND r.prefix = l.prefix AND r.path_id = l.path_id AND r.epoch <= l.epoch RETURNING r.peer_id, r.rd, r.prefix, r.path_id)
$INS AND (peer_id, rd, prefix, path_id) NOT IN (SELECT * FROM changed) $CONF"
run() {
  psql -X -q -At "$url" <<SQL
SET search_path = ribx;
CREATE TEMP TABLE stage_routes (seq int8, peer_id int8, rd text, prefix cidr, path_id int8, afi int2, safi int2,
    labels text, action int2, epoch int8, attrs_id int8, ts timestamptz) ON COMMIT DELETE ROWS;
BEGIN;
INSERT INTO stage_routes SELECT g, 1, '', set_masklen(('10.0.0.0'::inet + (floor(random() * $3)::int8 * 256)), 24)::cidr, 0, 1, 1, NULL, 1, 1, g + 5000000, now()
  FROM generate_series(1, 10000) g;
SELECT pg_current_wal_insert_lsn() AS l0, clock_timestamp() AS t0 \gset
$4
$2;
SELECT '$1', round(extract(epoch FROM clock_timestamp() - :'t0') * 1000), pg_wal_lsn_diff(pg_current_wal_insert_lsn(), :'l0');
COMMIT;
SQL
}
for i in $(seq 1 ${1:-10}); do
  run A "$A" ${2:-2000000} ""
  run B "$B" ${2:-2000000} ""
done

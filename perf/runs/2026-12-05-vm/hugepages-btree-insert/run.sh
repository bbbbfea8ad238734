#!/bin/bash
# Cost of inserting 3 500 new attribute sets (a churn batch's worth) into
# attribute_sets holding 4.6 M (random xxh3 ids: each insert goes to a
# random leaf of the primary key), as the writer's plain insert does;
# 7 runs after 3 to warm up, sorted. DBURL: a superuser's database. Run it
# with the cluster's huge_pages off, then on (a restart each), alternating.
#
#   DBURL=postgres://... run.sh [setup]
set -euo pipefail
cd "$(dirname "$(readlink -f "$0")")"
if [ "${1:-}" = setup ]; then
    psql -X -q "$DBURL" <<SQL
DROP SCHEMA IF EXISTS ax CASCADE; CREATE SCHEMA ax; SET search_path = ax;
$(sed -n '/CREATE TABLE attribute_sets/,/^);/p' ../../../../migrations/postgres/0001_schema.sql)
INSERT INTO attribute_sets
SELECT (random() * 9e18)::int8, 'igp', '64512 3356 1299 ' || (random() * 400000)::int, (random() * 400000)::int8,
       ('192.0.2.' || (random() * 250)::int)::inet, NULL, 100, false, NULL,
       ARRAY['65000:' || (random() * 65535)::int, '65001:' || (random() * 65535)::int],
       NULL, NULL, NULL, NULL, NULL, NULL, now()
  FROM generate_series(1, 4500000);
VACUUM ANALYZE attribute_sets;
SQL
fi
# Warm shared_buffers: the whole index, then the table.
psql -X -qAt "$DBURL" -c "SET enable_seqscan = off" \
    -c "SELECT count(id) FROM ax.attribute_sets WHERE id > -9223372036854775807" >/dev/null
psql -X -qAt "$DBURL" -c "SELECT count(*) FROM ax.attribute_sets" >/dev/null
for i in $(seq 10); do
    psql -X -q "$DBURL" -f insert.sql 2>&1 | grep -o 'Execution Time: [0-9.]*' | cut -d' ' -f3
done | tail -7 | sort -n | tr '\n' ' '
echo

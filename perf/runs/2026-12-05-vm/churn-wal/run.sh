#!/bin/bash
# quick churn experiment: quarter tables, 4x4, churn $1/s for $2 s; extra riptide args in RARGS
cd "$(dirname "$(readlink -f "$0")")/../../../.."
eval "$(RIPTIDE_TESTS_SETUP_ONLY=1 tests/run)"
schema=churnexp
psql "$RIPTIDE_TEST_DATABASE_URL" -qc "DROP SCHEMA IF EXISTS $schema CASCADE; CREATE SCHEMA $schema" 2>/dev/null
url="$RIPTIDE_TEST_DATABASE_URL?options=-c%20search_path%3D$schema"
rm -rf /tmp/churnexp; mkdir -p /tmp/churnexp
./target/release/riptide --listen 127.0.0.1:23200 --metrics-listen 127.0.0.1:23201 --worker-threads 2 --database-url "$url" --data-dir /tmp/churnexp/data $RARGS > /tmp/churnexp/riptide.log 2>&1 &
pid=$!
sleep 2
( while ! grep -q "stored the dumps" /tmp/churnexp/lg.err 2>/dev/null; do sleep 0.2; done; psql "$RIPTIDE_TEST_DATABASE_URL" -Atc "select 'start', pg_current_wal_lsn(), wal_records, wal_fpi, pg_size_pretty(wal_bytes), (select checkpoints_timed+checkpoints_req from pg_stat_bgwriter), now() from pg_stat_wal"; for c in postgres riptide loadgen; do echo "$c $(ps -C $c -o cputimes= | awk '{s+=$1} END {print s}')"; done ) &
./target/release/loadgen --target 127.0.0.1:23200 --routers 4 --peers 4 --v4 ${V4:-237500} --v6 ${V6:-50000} --hold-until-stored --churn $1 --duration $2 --metrics http://127.0.0.1:23201/metrics 2>/tmp/churnexp/lg.err | grep -v "routers dumped"
# wait until all stored
for i in $(seq 300); do
  m=$(curl -s http://127.0.0.1:23201/metrics)
  a=$(echo "$m" | grep -E "^bmp_routes_(announced|withdrawn)_total" | awk '{s+=$2} END {print s}')
  r=$(echo "$m" | grep '^riptide_rows_written_total{table="rib"}' | awk '{print $2}')
  [ "${r%.*}" -ge "${a%.*}" ] && break
  sleep 1
done
echo "drained after ${i} s more"; for c in postgres riptide loadgen; do echo "$c $(ps -C $c -o cputimes= | awk '{s+=$1} END {print s}')"; done
psql "$RIPTIDE_TEST_DATABASE_URL" -Atc "select 'end', pg_current_wal_lsn(), wal_records, wal_fpi, pg_size_pretty(wal_bytes), (select checkpoints_timed+checkpoints_req from pg_stat_bgwriter), now() from pg_stat_wal"
curl -s http://127.0.0.1:23201/metrics | grep -E "^database_query_duration_seconds_(sum|count)\{operation=\"batch_(rib|history)\"|^riptide_end_to_end_seconds_bucket"
kill -INT $pid; wait $pid

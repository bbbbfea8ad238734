#!/bin/bash
# Churn latency against the batch timeout: 4 routers x 4 peers with quarter
# tables (237 500 IPv4 + 50 000 IPv6 prefixes each, 4.6 M routes), held
# until stored (loadgen --hold-until-stored), then 50k updates/s for 60 s;
# loadgen's report (arrival to commit after the hold) and the CPU seconds
# of PostgreSQL and Riptide. DBURL: the database (a cluster of its own:
# the CPU figure counts every postgres process); RARGS: collector flags.
#
#   DBURL=postgres://... RARGS="--batch-timeout-seconds 0.2" run.sh
cd "$(dirname "$(readlink -f "$0")")/../../../.."
schema=quarter
psql -X "$DBURL" -qc "DROP SCHEMA IF EXISTS $schema CASCADE; CREATE SCHEMA $schema" 2>/dev/null
url="$DBURL?options=-c%20search_path%3D$schema"
work=$(mktemp -d)
before=$(ps -C postgres -o cputimes= | awk '{s+=$1} END {print s}')
./target/release/riptide --listen 127.0.0.1:23300 --metrics-listen 127.0.0.1:23301 --worker-threads 2 \
    --database-url "$url" --data-dir "$work/data" $RARGS >"$work/riptide.log" 2>&1 &
pid=$!
sleep 2
./target/release/loadgen --target 127.0.0.1:23300 --routers 4 --peers 4 --v4 237500 --v6 50000 \
    --hold-until-stored --churn 50000 --duration 60 --metrics http://127.0.0.1:23301/metrics \
    --verify "$url" --verify-timeout 900 2>/dev/null | grep -v "routers dumped"
echo "cpu: postgres $(($(ps -C postgres -o cputimes= | awk '{s+=$1} END {print s}') - before)) s, riptide $(ps -p $pid -o cputimes=) s"
echo "transactions retried after a conflict: $(grep -c conflict "$work/riptide.log")"
kill -INT $pid
wait $pid
rm -rf "$work"

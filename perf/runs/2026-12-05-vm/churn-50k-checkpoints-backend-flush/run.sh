#!/usr/bin/env bash
# Checkpoints inside the churn, and what backends leave dirty in the page
# cache: the README's settings but max_wal_size 4GB (a stress setting: a
# checkpoint begins and ends within the 60 s of churn), A with
# backend_flush_after 0 (PostgreSQL's default), B with 256kB (a backend
# asks the kernel to write what it wrote every 256 kB, as the checkpointer
# does), alternating B A B A; /proc/diskstats every 2 s in diskstat-N.log.
set -uo pipefail
cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/../../../.."
here=perf/runs/2026-12-05-vm/churn-50k-checkpoints-backend-flush
eval "$(RIPTIDE_TESTS_SETUP_ONLY=1 tests/run 2>/dev/null)"
url=$RIPTIDE_TEST_DATABASE_URL
perf/scripts/postgres-settings >/dev/null
psql -X -q "$url" -c "ALTER SYSTEM SET max_wal_size = '4GB'" -c "SELECT pg_reload_conf()" >/dev/null
declare -A flush=([A]=0 [B]=256kB)
for i in 1 2; do
    for v in B A; do
        psql -X -q "$url" -c "ALTER SYSTEM SET backend_flush_after = '${flush[$v]}'" -c "SELECT pg_reload_conf()" >/dev/null
        mkdir -p "$here/$v-$i"
        (
            while sleep 2; do
                echo "$(date +%T) $(awk '$3 == "vda" {print "writes_completed="$8, "sectors_written="$10, "ms_writing="$11, "in_flight="$12}' /proc/diskstats)"
            done
        ) >"$here/$v-$i/diskstat.log" &
        logger=$!
        OUT=$here/$v-$i PG_SETTINGS=keep CHURN=50000 perf/scripts/scenario churn 1
        kill "$logger"
        grep -E "checkpoint (starting|complete)" /var/log/postgresql/postgresql-15-main.log | tail -6 >"$here/$v-$i/checkpoints.log"
    done
done
psql -X -q "$url" -c "ALTER SYSTEM RESET backend_flush_after" -c "SELECT pg_reload_conf()" >/dev/null
perf/scripts/postgres-settings >/dev/null

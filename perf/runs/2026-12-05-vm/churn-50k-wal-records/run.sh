#!/usr/bin/env bash
# What the WAL of 50k/s churn on 16 full tables is made of: one churn
# scenario on the disk cluster (README settings, huge pages) with the WAL
# kept (wal_keep_size), the LSN logged each second with a mark once
# loadgen holds (the dumps stored, the churn starts), then pg_waldump
# --stats over the churn's 60 s.
set -euo pipefail
cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/../../../.."
here=perf/runs/2026-12-05-vm/churn-50k-wal-records
eval "$(RIPTIDE_TESTS_SETUP_ONLY=1 tests/run)"
perf/scripts/postgres-settings >/dev/null
psql -X "$RIPTIDE_TEST_DATABASE_URL" -qc "ALTER SYSTEM SET wal_keep_size = '30GB'" -c "SELECT pg_reload_conf()" >/dev/null
marker=$(mktemp)
(
    set +e
    while sleep 1; do
        # This run's loadgen only (the scenario's work directory is new).
        held=$(find /tmp -maxdepth 2 -name loadgen.err -newer "$marker" -exec grep -l 'the collector has stored the dumps' {} + 2>/dev/null)
        echo "$(date +%s.%N) $(psql -X -At "$RIPTIDE_TEST_DATABASE_URL" -c 'SELECT pg_current_wal_lsn()') ${held:+held}"
    done
) >"$here/lsn.log" &
logger=$!
OUT=$here/scenario PG_SETTINGS=keep CHURN=50000 perf/scripts/scenario churn 1
kill "$logger"
from=$(awk '$3 == "held" {print $2; exit}' "$here/lsn.log")
at=$(awk '$3 == "held" {print $1; exit}' "$here/lsn.log")
to=$(awk -v end="$at" '$1 >= end + 60 {print $2; exit}' "$here/lsn.log")
echo "churn WAL from $from to $to" >"$here/waldump-stats.txt"
/usr/lib/postgresql/15/bin/pg_waldump -p /var/lib/postgresql/15/main/pg_wal \
    --stats=record -s "$from" -e "$to" >>"$here/waldump-stats.txt" 2>&1 || true
psql -X "$RIPTIDE_TEST_DATABASE_URL" -qc "ALTER SYSTEM RESET wal_keep_size" -c "SELECT pg_reload_conf()" >/dev/null

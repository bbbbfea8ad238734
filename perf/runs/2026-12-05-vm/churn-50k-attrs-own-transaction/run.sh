#!/usr/bin/env bash
# Attribute sets at 50k/s churn on 16 full tables: A, in the main part's
# transaction (as at 7cc8acf); B, in a short transaction of their own
# before it (variant-B.diff), so that a writer adding a set another
# writer is adding waits only for that. Runs alternating, on the disk
# cluster with the README's settings. Besides the scenario's files,
# churn-1.txt: WAL and PostgreSQL CPU from the hold (the churn's start) to
# 65 s later, and how often, sampled each second, a backend of the run's
# database waited for another's transaction (wait event transactionid).
set -uo pipefail
cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/../../../.."
here=perf/runs/2026-12-05-vm/churn-50k-attrs-own-transaction
eval "$(RIPTIDE_TESTS_SETUP_ONLY=1 tests/run 2>/dev/null)"
url=$RIPTIDE_TEST_DATABASE_URL
perf/scripts/postgres-settings >/dev/null
postgres_cpu() { ps -C postgres -o cputimes= | awk '{s += $1} END {print s}'; }
lsn() { psql -X -At "$url" -c 'SELECT pg_current_wal_lsn()'; }
waiting() { psql -X -At "$url" -c "SELECT count(*) FROM pg_stat_activity WHERE wait_event = 'transactionid'"; }
for i in 1 2; do
    for v in B A; do
        git checkout -q src/sink/writer.rs
        [ "$v" = B ] && patch -s src/sink/writer.rs "$here/variant-B.diff"
        marker=$(mktemp)
        mkdir -p "$here/$v-$i"
        (
            err=""
            until [[ -n $err ]]; do
                sleep 0.5
                err=$(find /tmp -maxdepth 2 -name loadgen.err -newer "$marker" 2>/dev/null | head -1)
            done
            until grep -q 'the collector has stored the dumps' "$err"; do sleep 0.5; done
            from=$(lsn) cpu=$(postgres_cpu) waits=0
            for _ in $(seq 65); do
                waits=$((waits + $(waiting)))
                sleep 1
            done
            to=$(lsn)
            {
                echo "WAL from the hold to 65 s later: $(psql -X -At "$url" -c "SELECT pg_size_pretty(pg_wal_lsn_diff('$to', '$from'))")"
                echo "postgres CPU in those 65 s: $(($(postgres_cpu) - cpu)) s"
                echo "backends waiting for another's transaction, summed over 65 samples: $waits"
            } >"$here/$v-$i/churn-1.txt"
        ) &
        watcher=$!
        OUT=$here/$v-$i PG_SETTINGS=keep CHURN=50000 perf/scripts/scenario churn 1
        wait "$watcher"
        rm -f "$marker"
    done
done
git checkout -q src/sink/writer.rs

#!/usr/bin/env bash
# History's prefix index at 50k/s churn on 16 full tables: A, (prefix, ts)
# as 0001 made it; B, (prefix) alone (duplicates of a prefix deduplicated
# into posting lists). Set after the migrations (AFTER_START_SQL), runs
# alternating, on the disk cluster with the README's settings. Besides the
# scenario's files, churn-N.txt: WAL written and PostgreSQL CPU seconds
# from the hold (the churn's start) to 65 s later, and the index's size.
set -uo pipefail
cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/../../../.."
here=perf/runs/2026-12-05-vm/churn-50k-history-prefix-index
eval "$(RIPTIDE_TESTS_SETUP_ONLY=1 tests/run 2>/dev/null)"
url=$RIPTIDE_TEST_DATABASE_URL
perf/scripts/postgres-settings >/dev/null
postgres_cpu() { ps -C postgres -o cputimes= | awk '{s += $1} END {print s}'; }
lsn() { psql -X -At "$url" -c 'SELECT pg_current_wal_lsn()'; }
wal_between() { psql -X -At "$url" -c "SELECT pg_size_pretty(pg_wal_lsn_diff('$2', '$1'))"; }
declare -A index=(
    [A]="DROP INDEX route_history_prefix; CREATE INDEX route_history_prefix ON route_history (prefix, ts)"
    [B]="DROP INDEX route_history_prefix; CREATE INDEX route_history_prefix ON route_history (prefix)"
)
for i in 1 2; do
    for v in B A; do
        marker=$(mktemp)
        (
            err=""
            until [[ -n $err ]]; do
                sleep 0.5
                err=$(find /tmp -maxdepth 2 -name loadgen.err -newer "$marker" 2>/dev/null | head -1)
            done
            until grep -q 'the collector has stored the dumps' "$err"; do sleep 0.5; done
            from=$(lsn) cpu=$(postgres_cpu)
            sleep 65
            to=$(lsn)
            {
                echo "WAL from the hold to 65 s later: $(wal_between "$from" "$to") ($from to $to)"
                echo "postgres CPU in those 65 s: $(($(postgres_cpu) - cpu)) s"
                psql -X -At "$url" -c "SELECT 'history prefix index: ' || pg_size_pretty(sum(pg_relation_size(indexrelid))) FROM pg_index WHERE indexrelid::regclass::text LIKE 'perf_churn_1.route_history_2%prefix%'"
            } >"$here/$v-$i/churn-1.txt"
        ) &
        watcher=$!
        mkdir -p "$here/$v-$i"
        OUT=$here/$v-$i PG_SETTINGS=keep AFTER_START_SQL=${index[$v]} CHURN=50000 perf/scripts/scenario churn 1
        wait "$watcher"
        rm -f "$marker"
    done
done

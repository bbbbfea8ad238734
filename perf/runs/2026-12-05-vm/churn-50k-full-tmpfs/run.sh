#!/bin/bash
# Churn at 50k on 16 full tables with PostgreSQL on tmpfs (a cluster of its
# own: pg_createcluster 15 ram -d /dev/shm/pgram -p 5433; shared_buffers
# 3GB, max_wal_size 4GB, checkpoint_timeout 15min, wal_compression lz4,
# shared_preload_libraries pg_stat_statements, vm.nr_hugepages 1600; the
# disk cluster stopped): not durable, for diagnosis only, to see what
# PostgreSQL's CPU alone can do. huge_pages on and off alternating.
cd "$(dirname "$(readlink -f "$0")")/../../../.."
export RIPTIDE_TEST_DATABASE_URL=postgres://riptide:riptide@127.0.0.1:5433/riptide_test
d=perf/runs/2026-12-05-vm/churn-50k-full-tmpfs
conf=/etc/postgresql/15/ram/postgresql.conf
for i in 1 2; do
    for hp in on off; do
        sed -i '/^huge_pages/d' $conf
        echo "huge_pages = $hp" >>$conf
        pg_ctlcluster 15 ram restart
        OUT=$d/hugepages-$hp-$i PG_SETTINGS=keep STATEMENTS=1 CHURN=50000 perf/scripts/scenario churn 1
    done
done

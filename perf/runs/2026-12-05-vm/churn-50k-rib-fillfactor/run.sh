#!/bin/bash
# alternating fillfactor 100 (default) / 90 on rib, full-table churn at 50k
cd "$(dirname "$(readlink -f "$0")")/../../../.."
eval "$(RIPTIDE_TESTS_SETUP_ONLY=1 tests/run)"
d=perf/runs/2026-12-05-vm/churn-50k-rib-fillfactor
for i in 1 2; do
  OUT=$d/ff100-$i CHURN=50000 perf/scripts/scenario churn 1
  OUT=$d/ff90-$i AFTER_START_SQL="ALTER TABLE rib SET (fillfactor = 90)" CHURN=50000 perf/scripts/scenario churn 1
done

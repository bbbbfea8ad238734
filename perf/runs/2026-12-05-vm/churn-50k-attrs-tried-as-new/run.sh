#!/bin/bash
# A: attribute sets tried as all new (current); B: always the upsert.
cd "$(dirname "$(readlink -f "$0")")/../../../.."
eval "$(RIPTIDE_TESTS_SETUP_ONLY=1 tests/run 2>/dev/null)"
d=perf/runs/2026-12-05-vm/churn-50k-attrs-tried-as-new
for i in 1 2; do
  for v in B A; do
    git checkout src/sink/writer.rs; [ $v = B ] && patch -s src/sink/writer.rs $d/variant-B.diff
    OUT=$d/$v-$i STATEMENTS=1 CHURN=50000 perf/scripts/scenario churn 1
  done
done
git checkout src/sink/writer.rs

#!/usr/bin/env bash
# One full table into PostgreSQL (perf/scripts/store-bench), the attribute
# sets of a dump COPied straight into attribute_sets (new) against staged
# and inserted from the stage (old, the build before), alternating, one
# run each per round. Binaries built beforehand into /tmp/ab.
# counted-* (PREFIX=counted-): store-bench as it was (the tables counted every 0.25 s until
# full, which competed with Riptide for the database); the others: as it
# is now (Riptide's metrics polled, the tables counted once at the end).
set -euo pipefail
cd "$(dirname "$0")/../../../.."
here=perf/runs/2026-12-05-vm/store-bench-attrs-copy
rounds=${1:-4}
for r in $(seq 1 "$rounds"); do
    for arm in old new; do
        OUT=$here/${PREFIX:-}$arm-$r RIPTIDE_BIN=/tmp/ab/riptide-$arm perf/scripts/store-bench 1 | tail -1
    done
done
python3 - "$here" "${PREFIX:-}" <<'PY'
import csv, glob, statistics, sys
here, prefix = sys.argv[1], sys.argv[2]
out = []
for arm in ("old", "new"):
    rows = [r for f in sorted(glob.glob(f"{here}/{prefix}{arm}-*/raw.csv")) for r in csv.DictReader(open(f))]
    med = lambda k: statistics.median(float(r[k]) for r in rows)
    out.append(f"{arm}: {len(rows)} runs, seconds median {med('riptide_seconds'):.2f} "
               f"({min(float(r['riptide_seconds']) for r in rows):.2f} - {max(float(r['riptide_seconds']) for r in rows):.2f}), "
               f"ratio to psql \\copy median {med('ratio'):.2f} "
               f"({min(float(r['ratio']) for r in rows):.2f} - {max(float(r['ratio']) for r in rows):.2f}), "
               f"ceiling median {med('copy_seconds'):.2f} s")
secs = lambda arm, r: float(next(csv.DictReader(open(f"{here}/{prefix}{arm}-{r}/raw.csv")))["riptide_seconds"])
rounds = len(glob.glob(f"{here}/{prefix}new-*/raw.csv"))
ratios = sorted(secs("new", r) / secs("old", r) for r in range(1, rounds + 1))
out.append(f"new / old seconds, per round: median {statistics.median(ratios):.3f} "
           f"(min {ratios[0]:.3f}, max {ratios[-1]:.3f}) over {rounds} rounds")
open(f"{here}/{prefix}summary.md", "w").write("\n".join(out) + "\n")
print("\n".join(out))
PY

#!/usr/bin/env bash
# Side-by-side: EduPlan's solver against the CP-SAT block model on the same generated instances.
# Offline after the one-time installs (cargo build; pip install ortools). Usage: bench/timetable/run_bench.sh [SECONDS]
set -euo pipefail
cd "$(dirname "$0")/../.."
LIMIT=${1:-120}
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-/work/target-tt}
cargo build --release -q -p eduplan
B=$CARGO_TARGET_DIR/release/eduplan
OUT=$(mktemp -d)
echo "| students | periods | mix | grouping | EduPlan s | classes / bound | check | CP-SAT status | CP-SAT first s | CP-SAT total s | ratio (CP-SAT total ÷ EduPlan) |"
echo "|---|---|---|---|---|---|---|---|---|---|---|"
for spec in "600 45 hlj2021 mixed" "1000 45 hlj2021 mixed" "2000 45 hlj2021 mixed" "600 40 uniform mixed" "1000 40 wushengdi track" "2000 40 wuhuasheng combination"; do
  set -- $spec
  n=$1; p=$2; mix=$3; g=$4
  inst=$OUT/i-$n-$p-$mix.json; sol=$OUT/s-$n-$p-$mix.json; rep=$OUT/r-$n-$p-$mix.json
  $B timetable gen --students "$n" --seed 1 --periods "$p" --mix "$mix" --grouping "$g" --out "$inst"
  $B timetable solve "$inst" --out "$sol" --report "$rep" --seconds 60 2>/dev/null
  if $B timetable check "$inst" "$sol" >/dev/null; then ok=valid; else ok=INVALID; fi
  t=$(python3 -c "import json;r=json.load(open('$rep'));print(f\"{r['solve_seconds']:.4f} {r['teaching_classes']}/{r['lower_bound']}\")")
  c=$(timeout $((LIMIT + 60)) python3 bench/timetable/cpsat_block.py "$inst" --seconds "$LIMIT")
  python3 - "$n" "$p" "$mix" "$g" "$t" "$ok" "$c" <<'PY'
import json, sys
n, p, mix, g, t, ok, c = sys.argv[1:]
secs, classes = t.split()
r = json.loads(c)
ratio = r["total_seconds"] / max(float(secs), 1e-4)
print(f"| {n} | {p} | {mix} | {g} | {float(secs):.4f} | {classes} | {ok} | {r['status']} (obj {r['objective']}) | {r['first_solution_seconds']} | {r['total_seconds']} | {ratio:.0f}× |")
PY
done
rm -rf "$OUT"

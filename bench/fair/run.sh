#!/usr/bin/env bash
# Fair-allocation benchmarks: EduPlan against its anchors, in one session on one machine.
#   bench/fair/run.sh [SEEDS]        (default 20 seeds; needs python3 with numpy and matching)
# Outputs go to bench/out/fair/ (ignored by git); the summary is printed at the end.
set -euo pipefail
cd "$(dirname "$0")/../.."
seeds="${1:-20}"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$PWD/target}"
out=bench/out/fair
mkdir -p "$out"
cargo build --release -p eduplan -p edu-fair --example fair_gen
gen="$CARGO_TARGET_DIR/release/examples/fair_gen"
eduplan="$CARGO_TARGET_DIR/release/eduplan"

echo "== EduPlan engines (cargo bench, best of 3 per instance)"
cargo bench -p edu-fair --bench fair -- balance admit seats --seeds "$seeds" | tee "$out/engines.txt" | grep SUMMARY

echo "== anchor: k-plus anticlustering, local-maximum exchange (numpy re-implementation)"
# numpy is slowed by the OPENBLAS_* overrides of this workplace; unset them for this command only.
env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE python3 bench/fair/kplus_anchor.py "$gen" --seeds "$seeds" \
  | tee "$out/anchor.txt" | grep SUMMARY

echo "== anchor: Python matching (deferred acceptance)"
python3 bench/fair/matching_compare.py "$eduplan" "$gen" --instances "$seeds" --size 2000/20/4 --timing 10000/50/5 \
  | tee "$out/matching.txt" | grep SUMMARY

echo "== ratios (balanced classes)"
python3 bench/fair/ratios.py "$out/engines.txt" "$out/anchor.txt"

#!/usr/bin/env bash
# Reporting obligations under load (issue 4, item 6): builds the release binaries, generates the full demo city,
# serves it on loopback and drives it with the open-loop load generator. Results go to bench/out/reports/.
# Usage: bench/reports/run.sh [rate] [duration-seconds]        (defaults 1000 and 60)
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
RATE=${1:-1000}
DURATION=${2:-60}
OUT=${OUT:-$ROOT/bench/out/reports}
PORT=${PORT:-8480}
PASSWORD='Demo#2021x'
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$ROOT/target}
mkdir -p "$OUT"

cargo build -j2 --release -p eduplan --manifest-path "$ROOT/Cargo.toml"
cargo build -j2 --release --manifest-path "$ROOT/bench/reports/Cargo.toml"
EDUPLAN=$CARGO_TARGET_DIR/release/eduplan
BENCH=$CARGO_TARGET_DIR/release/reports-bench

# 1. The full demo city (its generation time includes the year of returns).
rm -f "$OUT"/city.db* "$OUT"/bench.db*
/usr/bin/time -v "$EDUPLAN" demo --db "$OUT/city.db" --password "$PASSWORD" --no-serve 2>"$OUT/demo.time" | tee "$OUT/demo.log"
# 2. A copy to load, so the demo stays pristine.
cp "$OUT/city.db" "$OUT/bench.db"; cp "$OUT/city.db.keys" "$OUT/bench.db.keys"
"$BENCH" prepare --db "$OUT/bench.db" --password "$PASSWORD" --schools 400 --out "$OUT/tokens.tsv"
# 3. Serve, measure the missing list idle, load, measure it again.
"$BENCH" serve --db "$OUT/bench.db" --addr "127.0.0.1:$PORT" >"$OUT/server.log" 2>&1 &
SERVER=$!
trap 'kill $SERVER 2>/dev/null || true' EXIT
for _ in $(seq 1 100); do curl -fsS "http://127.0.0.1:$PORT/healthz" >/dev/null 2>&1 && break; sleep 0.2; done
STATUS="/api/v1/obligations/health-daily/status?org=230600"
"$BENCH" probe --addr "127.0.0.1:$PORT" --tokens "$OUT/tokens.tsv" --path "$STATUS" --n 50 | tee "$OUT/probe-before.txt"
"$BENCH" probe --addr "127.0.0.1:$PORT" --tokens "$OUT/tokens.tsv" --path "/reports/follow-up" --n 20 | tee -a "$OUT/probe-before.txt" || true
"$BENCH" load --addr "127.0.0.1:$PORT" --tokens "$OUT/tokens.tsv" --rate "$RATE" --duration "$DURATION" --warmup 5 --connections 64 | tee "$OUT/load.txt"
"$BENCH" probe --addr "127.0.0.1:$PORT" --tokens "$OUT/tokens.tsv" --path "$STATUS" --n 50 | tee "$OUT/probe-after.txt"
"$EDUPLAN" audit verify --db "$OUT/bench.db" >"$OUT/audit-verify.txt" 2>&1 || true

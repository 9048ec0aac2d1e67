#!/usr/bin/env bash
# The browser side's figures: beacon intake throughput (observations stored per second,
# text/plain beacons of 5 and of 50 observations from 64 connections) and the dedup
# report's latency over one tenant's month of 1,000,000 observations and 700,000 server
# events, on SQLite and, when reachable, on PostgreSQL.
# Usage: bench/browser.sh [seconds] [observations]
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-/work/target}"
SECONDS_PER_RUN="${1:-10}"
OBSERVATIONS="${2:-1000000}"
SERVER_EVENTS=$((OBSERVATIONS * 7 / 10))
PG_BASE="${KICKIN_BENCH_POSTGRES_BASE:-postgres://postgres@127.0.0.1:5432}"
# KICKIN_BENCH_BIN_DIR: binaries already built (skips the build).
if [ -z "${KICKIN_BENCH_BIN_DIR:-}" ]; then
  cargo build --release --quiet --bins
fi
BIN="${KICKIN_BENCH_BIN_DIR:-$CARGO_TARGET_DIR/release}/kickin"
LOADTEST="${KICKIN_BENCH_BIN_DIR:-$CARGO_TARGET_DIR/release}/kickin-loadtest"
WORK=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$WORK"' EXIT
export KICKIN_ADMIN_EMAIL=bench@kickin.local KICKIN_ADMIN_PASSWORD=bench-password-1 \
       KICKIN_SECRET_KEY=bench-secret-key-0123456789abcdef0123456789 KICKIN_API_RATE_LIMIT=0 RUST_LOG=warn

run_on() { # name intake-database-url report-database-url
  local name=$1 url=$2 report_url=$3 port=18190
  echo "=== $name ($(nproc) cores) ==="
  KICKIN_DATABASE_URL="$url" KICKIN_ROLE=api KICKIN_BIND=127.0.0.1:$port "$BIN" serve >"$WORK/$name.log" 2>&1 &
  local pid=$!
  until curl -fs "http://127.0.0.1:$port/readyz" >/dev/null; do sleep 0.2; done
  for batch in 5 50; do
    "$LOADTEST" beacons --url "http://127.0.0.1:$port" --concurrency 64 --batch $batch \
      --seconds "$SECONDS_PER_RUN" --server-pid $pid
  done
  kill $pid; wait $pid 2>/dev/null || true
  KICKIN_DATABASE_URL="$report_url" "$LOADTEST" dedup-report \
    --observations "$OBSERVATIONS" --server-events "$SERVER_EVENTS"
}

run_on sqlite "sqlite://$WORK/beacons.db?mode=rwc" "sqlite://$WORK/report.db?mode=rwc"
if pg_isready -h 127.0.0.1 -p 5432 -q 2>/dev/null; then
  DB="kickin_browser_bench_$$"
  psql "$PG_BASE/postgres" -qc "CREATE DATABASE $DB" -qc "CREATE DATABASE ${DB}_report"
  run_on postgresql "$PG_BASE/$DB" "$PG_BASE/${DB}_report"
  psql "$PG_BASE/postgres" -qc "DROP DATABASE $DB WITH (FORCE)" -qc "DROP DATABASE ${DB}_report WITH (FORCE)"
fi

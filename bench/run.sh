#!/usr/bin/env bash
# Runs the load benchmark on this machine: Kickin (release build, `serve --demo` so sends
# go to the built-in sandbox) on SQLite and, when reachable, on PostgreSQL; ingest runs
# on an API-only process next to the database ceiling for the same rows; then a backlog
# of 100,000 deliveries (KICKIN_BENCH_BACKLOG) drained by a worker process.
# Usage: bench/run.sh [seconds]
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-/work/target}"
SECONDS_PER_RUN="${1:-10}"
BACKLOG="${KICKIN_BENCH_BACKLOG:-100000}"
PG_BASE="${KICKIN_BENCH_POSTGRES_BASE:-postgres://postgres@127.0.0.1:5432}"
cargo build --release --quiet
BIN="$CARGO_TARGET_DIR/release/kickin"
LOADTEST="$CARGO_TARGET_DIR/release/kickin-loadtest"
WORK=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$WORK"' EXIT
export KICKIN_ADMIN_EMAIL=bench@kickin.local KICKIN_ADMIN_PASSWORD=bench-password-1 \
       KICKIN_SECRET_KEY=bench-secret-key-0123456789abcdef0123456789 KICKIN_API_RATE_LIMIT=0 RUST_LOG=warn

run_on() { # name ingest-database-url backlog-database-url
  local name=$1 url=$2 backlog_url=$3 port=18090
  echo "=== $name ($(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo)) ==="
  KICKIN_DATABASE_URL="$url" "$LOADTEST" ceiling --concurrency 64 --batch 100 --seconds "$SECONDS_PER_RUN"
  KICKIN_DATABASE_URL="$url" "$LOADTEST" ceiling --concurrency 64 --batch 1 --seconds "$SECONDS_PER_RUN"

  # Ingest on an API-only process (the production shape): no worker shares the two cores,
  # and the deliveries wait in the queue. Dispatch is measured on its own below.
  KICKIN_DATABASE_URL="$url" KICKIN_ROLE=api KICKIN_BIND=127.0.0.1:$port "$BIN" serve --demo >"$WORK/$name.log" 2>&1 &
  local pid=$!
  until curl -fs "http://127.0.0.1:$port/readyz" >/dev/null; do sleep 0.2; done
  "$LOADTEST" http --url "http://127.0.0.1:$port" --concurrency 64 --batch 100 --seconds "$SECONDS_PER_RUN" --server-pid $pid
  "$LOADTEST" http --url "http://127.0.0.1:$port" --concurrency 64 --batch 1 --seconds "$SECONDS_PER_RUN" --server-pid $pid |
    tee "$WORK/single.txt"
  # Latency at half the single-event peak, paced (open loop).
  local half
  half=$(awk '/accepted events\/s/ {printf "%.0f", $3 / 2}' "$WORK/single.txt")
  "$LOADTEST" http --url "http://127.0.0.1:$port" --concurrency 64 --batch 1 --seconds "$SECONDS_PER_RUN" --rate "$half" --server-pid $pid
  kill $pid; wait $pid 2>/dev/null || true

  # A backlog of $BACKLOG deliveries on a database of its own, taken by an API-only
  # process, then drained by a worker process; the meter must come out exact.
  KICKIN_DATABASE_URL="$backlog_url" KICKIN_ROLE=api KICKIN_BIND=127.0.0.1:$port "$BIN" serve --demo >"$WORK/$name-api.log" 2>&1 &
  pid=$!
  until curl -fs "http://127.0.0.1:$port/readyz" >/dev/null; do sleep 0.2; done
  "$LOADTEST" http --url "http://127.0.0.1:$port" --concurrency 64 --batch 100 --seconds 120 \
    --events "$BACKLOG" --state-file "$WORK/backlog.json" >/dev/null
  KICKIN_DATABASE_URL="$backlog_url" KICKIN_ROLE=worker KICKIN_BIND=127.0.0.1:$((port + 1)) "$BIN" serve --demo >"$WORK/$name-worker.log" 2>&1 &
  local worker=$!
  "$LOADTEST" drain --url "http://127.0.0.1:$port" --state-file "$WORK/backlog.json" --server-pid $worker
  kill $pid $worker; wait $pid $worker 2>/dev/null || true
}

run_on sqlite "sqlite://$WORK/bench.db?mode=rwc" "sqlite://$WORK/backlog.db?mode=rwc"
if pg_isready -h 127.0.0.1 -p 5432 -q 2>/dev/null; then
  DB="kickin_bench_$$"
  psql "$PG_BASE/postgres" -qc "CREATE DATABASE $DB" -qc "CREATE DATABASE ${DB}_backlog"
  run_on postgresql "$PG_BASE/$DB" "$PG_BASE/${DB}_backlog"
  psql "$PG_BASE/postgres" -qc "DROP DATABASE $DB WITH (FORCE)" -qc "DROP DATABASE ${DB}_backlog WITH (FORCE)"
fi

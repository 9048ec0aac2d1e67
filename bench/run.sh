#!/usr/bin/env bash
# The load benchmark, one run, one box: Kickin (release build, `serve --demo` so sends go
# to the built-in sandbox) measured against the reference ceiling in the same run —
# pgbench writing the minimal rows of the same work on PostgreSQL (bench/reference/, one
# event row, one dedup key, one pending delivery per event), and the same rows written
# by a minimal program on SQLite. Prints every figure, then the ratios table.
#   ingest on an API-only process: 64 connections × 100 events, then × 1 event per request
#   (server and PostgreSQL CPU per event), latency at half the single-event peak;
#   ingest + delivery in one `all` process: 32 connections × 1 event, one Meta
#   destination (the sandbox), until every event is sent (sends/s, peak RSS);
#   a backlog of KICKIN_BENCH_BACKLOG deliveries (default 100,000; 0 skips) drained by a
#   worker, the meter checked exact.
# On PostgreSQL every timed run starts after a CHECKPOINT (see settle).
# Usage: bench/run.sh [seconds per run]
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-/work/target}"
S="${1:-10}"
BACKLOG="${KICKIN_BENCH_BACKLOG:-100000}"
PG_BASE="${KICKIN_BENCH_POSTGRES_BASE:-postgres://postgres@127.0.0.1:5432}"
cargo build --release --quiet --bin kickin --bin kickin-loadtest
BIN="$CARGO_TARGET_DIR/release/kickin"
LOADTEST="$CARGO_TARGET_DIR/release/kickin-loadtest"
WORK=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$WORK"' EXIT
export KICKIN_ADMIN_EMAIL=bench@kickin.local KICKIN_ADMIN_PASSWORD=bench-password-1 \
       KICKIN_SECRET_KEY=bench-secret-key-0123456789abcdef0123456789 KICKIN_API_RATE_LIMIT=0 RUST_LOG=warn
PORT=18090
declare -A FIG

field() { awk -v k="$2" 'index($0, k) { for (i = 1; i <= NF; i++) if ($i ~ /^[0-9.]+$/) { print $i; exit } }' "$1"; }
sends_per_s() { sed -n 's/.*sends, \([0-9.]*\) sends\/s.*/\1/p' "$1"; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "-" }'; }

start() { # role database-url log → pid in SERVER
  KICKIN_DATABASE_URL="$2" KICKIN_ROLE="$1" KICKIN_BIND=127.0.0.1:$PORT "$BIN" serve --demo >"$3" 2>&1 &
  SERVER=$!
  until curl -fs "http://127.0.0.1:$PORT/readyz" >/dev/null; do
    kill -0 $SERVER 2>/dev/null || { cat "$3"; exit 1; }
    sleep 0.2
  done
}
stop() { kill "$@"; wait "$@" 2>/dev/null || true; }
# Before each timed run on PostgreSQL: a checkpoint, so the run does not pay for the WAL
# of the runs before it (whose checkpoint otherwise lands in a random later run).
settle() { case "$1" in postgres*) psql "$1" -qc CHECKPOINT ;; esac; }
load() { "$LOADTEST" http --url "http://127.0.0.1:$PORT" --seconds "$S" --server-pid "$SERVER" "$@"; }

pg_reference() { # database-url
  psql "$1" -q -f bench/reference/ceiling.sql
  settle "$1"
  pgbench -n -c4 -j2 -T"$S" -f bench/reference/ceiling_b100.sql "$1" 2>/dev/null | tee "$WORK/pg_b100.txt" | grep -E "^tps"
  settle "$1"
  pgbench -n -c8 -j2 -T"$S" -f bench/reference/ceiling_b1.sql "$1" 2>/dev/null | tee "$WORK/pg_b1.txt" | grep -E "^tps"
  FIG[ref_batched]=$(awk '/^tps/ { printf "%.0f", $3 * 100 }' "$WORK/pg_b100.txt")
  FIG[ref_single]=$(awk '/^tps/ { printf "%.0f", $3 }' "$WORK/pg_b1.txt")
  echo "reference ceiling: ${FIG[ref_batched]} events/s batched (100 per transaction), ${FIG[ref_single]} events/s one commit per event"
}

sqlite_reference() {
  "$LOADTEST" sqlite-ceiling --path "$WORK/reference.db" --batch 100 --seconds "$S" | tee "$WORK/ref_b100.txt"
  "$LOADTEST" sqlite-ceiling --path "$WORK/reference.db" --batch 1 --seconds "$S" | tee "$WORK/ref_b1.txt"
  FIG[ref_batched]=$(field "$WORK/ref_b100.txt" "accepted events/s")
  FIG[ref_single]=$(field "$WORK/ref_b1.txt" "accepted events/s")
}

kickin_runs() { # name database-url all-database-url backlog-database-url
  local name=$1
  echo "--- Kickin's own rows through the database layer (a second figure, not the ceiling)"
  KICKIN_DATABASE_URL="$2" "$LOADTEST" ceiling --concurrency 64 --batch 100 --seconds "$S"
  echo "--- ingest, API-only process"
  start api "$2" "$WORK/$name-api.log"
  settle "$2"
  load --concurrency 64 --batch 100 | tee "$WORK/batched.txt"
  settle "$2"
  load --concurrency 64 --batch 1 | tee "$WORK/single.txt"
  local half
  half=$(awk '/accepted events\/s/ { printf "%.0f", $3 / 2 }' "$WORK/single.txt")
  settle "$2"
  load --concurrency 64 --batch 1 --rate "$half"
  stop $SERVER
  FIG[batched]=$(field "$WORK/batched.txt" "accepted events/s")
  FIG[single]=$(field "$WORK/single.txt" "accepted events/s")
  FIG[cpu]=$(field "$WORK/single.txt" "server CPU/event")
  FIG[db_cpu]=$(field "$WORK/single.txt" "database CPU/event")
  [ "$name" = postgresql ] || FIG[db_cpu]="" # SQLite writes in-process: no database CPU
  echo "--- ingest + delivery, one 'all' process, 32 connections × 1 event"
  start all "$3" "$WORK/$name-all.log"
  settle "$3"
  load --concurrency 32 --batch 1 --drain | tee "$WORK/all.txt"
  stop $SERVER
  FIG[all]=$(sends_per_s "$WORK/all.txt")
  FIG[all_cpu]=$(field "$WORK/all.txt" "server CPU/event")
  FIG[rss]=$(field "$WORK/all.txt" "server peak RSS")
  if [ "$BACKLOG" -gt 0 ]; then
    echo "--- a backlog of $BACKLOG deliveries drained by a worker process"
    start api "$4" "$WORK/$name-backlog.log"
    local api=$SERVER
    "$LOADTEST" http --url "http://127.0.0.1:$PORT" --concurrency 64 --batch 100 --seconds 120 \
      --events "$BACKLOG" --state-file "$WORK/backlog.json" >/dev/null
    KICKIN_DATABASE_URL="$4" KICKIN_ROLE=worker KICKIN_BIND=127.0.0.1:$((PORT + 1)) "$BIN" serve --demo >"$WORK/$name-worker.log" 2>&1 &
    local worker=$!
    "$LOADTEST" drain --url "http://127.0.0.1:$PORT" --state-file "$WORK/backlog.json" --server-pid $worker
    stop $api $worker
  fi
}

table() { # name
  local r=${FIG[ref_batched]} s=${FIG[ref_single]}
  echo
  echo "=== $1: Kickin against the reference ceiling (same run, $(nproc) cores) ==="
  printf '| %-58s | %12s | %8s |\n' figure value goal
  printf '| %-58s | %12s | %8s |\n' "---" "---" "---"
  printf '| %-58s | %12s | %8s |\n' "reference ceiling, batched / one commit per event (events/s)" "$r / $s" ""
  printf '| %-58s | %12s | %8s |\n' "batched ingest (events/s) / batched ceiling" "${FIG[batched]} → $(ratio "${FIG[batched]}" "$r")" "≥ 0.45"
  printf '| %-58s | %12s | %8s |\n' "single-event ingest (events/s) / one-commit ceiling" "${FIG[single]} → $(ratio "${FIG[single]}" "$s")×" "≥ 2×"
  printf '| %-58s | %12s | %8s |\n' "ingest + delivery, all, 32 conns (sends/s) / one-commit" "${FIG[all]} → $(ratio "${FIG[all]}" "$s")×" "≥ 1.5×"
  printf '| %-58s | %12s | %8s |\n' "server CPU per single event (µs)" "${FIG[cpu]}" "≤ 50"
  printf '| %-58s | %12s | %8s |\n' "database CPU per single event (µs)" "${FIG[db_cpu]:--}" ""
  printf '| %-58s | %12s | %8s |\n' "server CPU per event, ingest + delivery (µs)" "${FIG[all_cpu]}" ""
  printf '| %-58s | %12s | %8s |\n' "peak RSS of the all process (MB)" "${FIG[rss]}" "≤ 64"
}

echo "=== SQLite ($(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo)) ==="
sqlite_reference
kickin_runs sqlite "sqlite://$WORK/bench.db?mode=rwc" "sqlite://$WORK/all.db?mode=rwc" "sqlite://$WORK/backlog.db?mode=rwc"
TABLES=$(table SQLite)
if pg_isready -h 127.0.0.1 -p 5432 -q 2>/dev/null; then
  DB="kickin_bench_$$"
  for suffix in ref "" _all _backlog; do psql "$PG_BASE/postgres" -qc "CREATE DATABASE $DB$suffix"; done
  echo "=== PostgreSQL ==="
  pg_reference "$PG_BASE/${DB}ref"
  kickin_runs postgresql "$PG_BASE/$DB" "$PG_BASE/${DB}_all" "$PG_BASE/${DB}_backlog"
  TABLES="$TABLES"$'\n'"$(table PostgreSQL)"
  for suffix in ref "" _all _backlog; do psql "$PG_BASE/postgres" -qc "DROP DATABASE $DB$suffix WITH (FORCE)"; done
fi
echo "$TABLES"

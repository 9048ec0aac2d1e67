#!/usr/bin/env bash
# schemathesis — a third-party fuzzer that reads only /openapi.json — against a running
# Kickin (SQLite, demo tenant), with every check and real credentials: an admin session,
# a tenant API key with every scope, a browser key and the demo Meta pixel. Fails on any
# failure. Needs .ci/venv (made by .ci/run) and cargo.
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-/work/target}"
SCHEMATHESIS_VERSION="4.32.5"
ST=.ci/venv/bin/schemathesis
if ! .ci/venv/bin/python -c "import importlib.metadata as m; assert m.version('schemathesis') == '$SCHEMATHESIS_VERSION'" 2>/dev/null; then
  .ci/venv/bin/pip install -q --disable-pip-version-check "schemathesis==$SCHEMATHESIS_VERSION"
fi

cargo build -q --bin kickin
BIN="$CARGO_TARGET_DIR/debug/kickin"
WORK="$(mktemp -d)"
PORT="$(.ci/venv/bin/python -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')"
BASE="http://127.0.0.1:$PORT"
ADMIN_EMAIL="schemathesis@kickin.test"
ADMIN_PASSWORD="schemathesis-$(date +%s)-password"
KICKIN_DATABASE_URL="sqlite://$WORK/kickin.db?mode=rwc" KICKIN_BIND="127.0.0.1:$PORT" \
  KICKIN_ADMIN_EMAIL="$ADMIN_EMAIL" KICKIN_ADMIN_PASSWORD="$ADMIN_PASSWORD" KICKIN_API_RATE_LIMIT=0 \
  "$BIN" serve --demo >"$WORK/kickin.log" 2>&1 &
SERVER=$!
trap 'kill $SERVER 2>/dev/null || true; wait $SERVER 2>/dev/null || true; rm -rf "$WORK"' EXIT
for _ in $(seq 1 120); do
  curl -sf "$BASE/readyz" >/dev/null && break
  kill -0 $SERVER 2>/dev/null || { cat "$WORK/kickin.log"; exit 1; }
  sleep 0.5
done

json() { .ci/venv/bin/python -c "import json,sys; d=json.load(sys.stdin); print($1)"; }
ADMIN_TOKEN="$(curl -sf -X POST "$BASE/admin/api/session" -H 'content-type: application/json' \
  -d "{\"email\":\"$ADMIN_EMAIL\",\"password\":\"$ADMIN_PASSWORD\"}" | json 'd["token"]')"
auth=(-H "authorization: Bearer $ADMIN_TOKEN" -H 'content-type: application/json')
TENANT="$(curl -sf "${auth[@]}" "$BASE/admin/api/tenants" | json 'd["data"][0]["id"]')"
API_KEY="$(curl -sf "${auth[@]}" -X POST "$BASE/admin/api/tenants/$TENANT/api-keys" \
  -d '{"name":"schemathesis","scopes":["ingest","read","manage"]}' | json 'd["key"]')"
BROWSER_KEY="$(curl -sf "${auth[@]}" -X POST "$BASE/admin/api/tenants/$TENANT/browser-keys" \
  -d '{"allowed_origins":["https://shop.example"]}' | json 'd["key"]')"
PIXEL_ID="$(curl -sf "${auth[@]}" "$BASE/admin/api/tenants/$TENANT/destinations" |
  json '[x["pixel_id"] for x in d["data"] if x["kind"] == "meta_capi"][0]')"
export ADMIN_TOKEN API_KEY BROWSER_KEY PIXEL_ID

"$ST" --config-file .ci/schemathesis.toml run "$BASE/openapi.json" --checks all \
  --max-examples "${KICKIN_SCHEMATHESIS_EXAMPLES:-25}" --seed "${KICKIN_SCHEMATHESIS_SEED:-20261202}" \
  --report junit --report-dir "$WORK/report" "$@"

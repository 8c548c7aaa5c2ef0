# Sourced by the measuring scripts: serves the release build ($BIN) on fresh demo data at
# 127.0.0.1:$PORT and signs in as the demo owner. Sets DATA (the throwaway data directory),
# SERVER (its pid, stopped on exit), BASE, ORG (Acme's id) and COOKIE (the owner's session).
DATA=$(mktemp -d /tmp/chronicle-measure-XXXXXX)
CHRONICLE_DATA_DIR=$DATA LEPTOS_SITE_ROOT=target/site LEPTOS_SITE_ADDR=127.0.0.1:$PORT RUST_LOG=warn \
    "$BIN" --demo >"$DATA/server.log" 2>&1 &
SERVER=$!
trap 'kill $SERVER 2>/dev/null; wait $SERVER 2>/dev/null; rm -rf "$DATA"' EXIT
BASE=http://127.0.0.1:$PORT
for _ in $(seq 120); do curl -sf "$BASE/healthz" >/dev/null && break; sleep 0.5; done
curl -sf "$BASE/healthz" >/dev/null || { echo "the server did not start:" >&2; cat "$DATA/server.log" >&2; exit 1; }
LOGIN=$(curl -sf -c "$DATA/cookies" -H 'content-type: application/json' \
    -d '{"email":"owner@acme.test","password":"chronicle-demo"}' "$BASE/api/v1/auth/login")
ORG=$(python3 -c 'import json,sys; print(json.load(sys.stdin)["orgs"][0]["id"])' <<<"$LOGIN")
COOKIE="chronicle_session=$(awk '$6 == "chronicle_session" {print $7}' "$DATA/cookies")"

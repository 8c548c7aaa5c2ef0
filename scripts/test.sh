#!/usr/bin/env bash
# Passes every test: Rust unit and API tests on SQLite and PostgreSQL, then the Playwright
# suite in Debian's Chromium against a release build. Installs what is missing first.
set -uo pipefail
cd "$(dirname "$0")/.."
export PATH="$HOME/.cargo/bin:$PATH"
# The name cargo-leptos gives the site bundle; set for plain cargo too so builds agree.
export LEPTOS_OUTPUT_NAME=chronicle
# Incremental artefacts only pay off on a warm tree; on a cold one (CI) they cost disk and time.
[ "${CI:-}" = "true" ] && export CARGO_INCREMENTAL=0

say()  { printf '\n\033[1;34m[test]\033[0m %s\n' "$*"; }
loud() { printf '\n\033[1;33m%s\033[0m\n' "################################################################" "# $*" "################################################################"; }
fail() { printf '\n\033[1;31m[test] FAILED: %s\033[0m\n' "$*"; exit 1; }
as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }
apt_install() {
  [ -n "${APT_UPDATED:-}" ] || { as_root apt-get update -qq; APT_UPDATED=1; }
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null
}

say "disk before: $(df -h --output=avail . | tail -1 | tr -d ' ') free"
bash scripts/setup.sh || fail "toolchain set-up"

[ -x /usr/bin/chromium ] || { say "installing Debian's Chromium"; apt_install chromium || fail "installing chromium"; }
if [ ! -d end2end/node_modules/@playwright/test ] || [ end2end/package-lock.json -nt end2end/node_modules/.package-lock.json ]; then
  say "installing Playwright (no browser download: it drives /usr/bin/chromium)"
  (cd end2end && PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --no-audit --no-fund) || fail "npm ci"
fi

# Other people's libraries check what we emit: the independent audit verifier
# (scripts/verify_audit.py: rfc8785 + cryptography), OCSF rows, Standard Webhooks
# signatures and TOTP codes (scripts/interop_check.py: pyotp), and the API contract (scripts/api_contract.py: the
# reference OpenAPI validator, Schemathesis, a generated client). Versions pinned: a new
# Schemathesis may add checks, which is a change to make on purpose.
PY_LIBS="rfc8785 cryptography ocsf-json-schema jsonschema standardwebhooks pyotp openapi-spec-validator==0.9.0 schemathesis==4.32.5 openapi-python-client==0.29.1"
if ! python3 -c 'import rfc8785, cryptography, ocsf_json_schema, jsonschema, standardwebhooks, pyotp, openapi_spec_validator, schemathesis, openapi_python_client' 2>/dev/null; then
  say "installing the interoperability checkers' Python libraries ($PY_LIBS)"
  python3 -m pip --version >/dev/null 2>&1 || apt_install python3-pip || fail "installing pip"
  python3 -m pip install --quiet --break-system-packages $PY_LIBS 2>/dev/null \
    || python3 -m pip install --quiet $PY_LIBS || fail "pip install $PY_LIBS"
fi

# PostgreSQL: a throwaway cluster, unless the caller gives one.
PG_STARTED=""
if [ -z "${CHRONICLE_TEST_POSTGRES_URL:-}" ]; then
  if ! scripts/postgres.sh available && [ "${CI:-}" = "true" ]; then
    say "installing PostgreSQL"; apt_install postgresql || fail "installing postgresql"
  fi
  if scripts/postgres.sh available; then
    pg_env=$(scripts/postgres.sh start) || fail "starting PostgreSQL"
    eval "$pg_env"
    PG_STARTED="$PG_TEST_DIR"
    trap 'scripts/postgres.sh stop "$PG_STARTED"' EXIT
    say "PostgreSQL test cluster at $CHRONICLE_TEST_POSTGRES_URL"
  else
    loud "PostgreSQL NOT FOUND: the store and API tests run on SQLite ONLY." \
         "Install postgresql (or set CHRONICLE_TEST_POSTGRES_URL) to test both."
  fi
fi

LOG=$(mktemp)
say "cargo test (workspace, native)"
cargo test --workspace --exclude frontend --no-fail-fast 2>&1 | tee "$LOG"
rust_status=${PIPESTATUS[0]}
read -r rust_passed rust_failed < <(awk '/^test result:/ { for (i = 1; i <= NF; i++) { if ($(i+1) ~ /^passed/) p += $i; if ($(i+1) ~ /^failed/) f += $i } } END { print p+0, f+0 }' "$LOG")

# A cold CI tree holds both profiles at once otherwise; the debug one is done with here.
if [ "${CI:-}" = "true" ]; then rm -rf target/debug; say "disk after the Rust tests: $(df -h --output=avail . | tail -1 | tr -d ' ') free"; fi

say "release build (server + WASM) for the browser tests"
# cargo-leptos 0.3.10 has been seen to fail its site step once on a cold tree with every
# compile finished; a second run (seconds: everything is cached) has always passed.
cargo leptos build --release --split --precompress || { say "cargo leptos build failed; retrying once"; cargo leptos build --release --split --precompress; } || fail "cargo leptos build --release --split --precompress"
say "the browser bundle, as it goes over the wire"
python3 scripts/wasm_sizes.py || fail "the browser bundle (scripts/wasm_sizes.py)"

say "Playwright (Chromium)"
(cd end2end && npx playwright test --reporter=list,json) >"$LOG.pw" 2>&1
e2e_status=$?
sed -n '1,/^{/p' "$LOG.pw" | sed '$d'
E2E_JSON="$LOG.pw" node -e '
  const fs = require("fs"); const text = fs.readFileSync(process.env.E2E_JSON, "utf8");
  const s = JSON.parse(text.slice(text.indexOf("\n{") + 1)).stats;
  console.log(`${s.expected} ${s.unexpected + s.flaky}`);' >"$LOG.e2e" 2>/dev/null || echo "0 1" >"$LOG.e2e"
read -r e2e_passed e2e_failed <"$LOG.e2e"

# Test databases are throwaway files under the temp dir: leave none behind.
rm -rf "${TMPDIR:-/tmp}"/chronicle-test-* 2>/dev/null
say "target/ is $(du -sh target 2>/dev/null | cut -f1); $(df -h --output=avail . | tail -1 | tr -d ' ') free"
say "summary: Rust ${rust_passed:-0} passed, ${rust_failed:-0} failed; browser ${e2e_passed} passed, ${e2e_failed} failed"
[ -n "$PG_STARTED" ] || [ -n "${CHRONICLE_TEST_POSTGRES_URL:-}" ] || loud "REMINDER: PostgreSQL tests were SKIPPED."
echo "total: $(( ${rust_passed:-0} + e2e_passed )) passed, $(( ${rust_failed:-0} + e2e_failed )) failed"
[ "$rust_status" = 0 ] && [ "$e2e_status" = 0 ] && [ "${e2e_failed}" = 0 ]

#!/usr/bin/env bash
# What the browser receives, measured as it receives it: serves the release build on fresh
# demo data, then
# 1. code bytes on the wire (Chromium, CDP `encodedDataLength`): a signed-in first visit to
#    the workflows page, the audit page after it, a reload (end2end/tests/delivery.spec.ts);
# 2. Lighthouse 12.2.3 (npm; 13 wants Node 22) with its default mobile settings, in Debian's
#    Chromium, on /login, the workflows page and the audit page (signed in by cookie):
#    performance score, FCP, LCP, bytes.
#
# usage: scripts/delivery.sh            needs: a release build
#   (`cargo leptos build --release --split --precompress`), node, /usr/bin/chromium.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${CHRONICLE_BIN:-target/release/server}
PORT=${DELIVERY_PORT:-3391}
[ -x "$BIN" ] || { echo "delivery: no $BIN; build first: cargo leptos build --release --split --precompress" >&2; exit 1; }

echo "== code on the wire (Playwright, Chromium)"
(cd end2end && npx playwright test delivery.spec.ts --reporter=list 2>&1 | grep -E "code on the wire|passed|failed")

. scripts/demo_server.sh

echo "== Lighthouse 12.2.3, mobile (simulated throttling), Debian's Chromium"
for page in /login "/orgs/$ORG/workflows" "/orgs/$ORG/audit"; do
    headers='{}'
    [ "$page" = /login ] || headers="{\"Cookie\": \"$COOKIE\"}"
    CHROME_PATH=/usr/bin/chromium npx -y lighthouse@12.2.3 "$BASE$page" --quiet --only-categories=performance \
        --chrome-flags="--headless=new --no-sandbox --disable-gpu --disable-dev-shm-usage" \
        --extra-headers="$headers" --output=json --output-path="$DATA/lh.json" >/dev/null 2>&1 \
        || { echo "  $page: lighthouse failed"; continue; }
    python3 - "$page" "$DATA/lh.json" <<'PY'
import json, sys
page, path = sys.argv[1], sys.argv[2]
r = json.load(open(path))
a = r["audits"]
kib = a["total-byte-weight"]["numericValue"] / 1024
print(f"  {page.split('/')[-1] or page}: performance {r['categories']['performance']['score']:.2f}, "
      f"FCP {a['first-contentful-paint']['numericValue'] / 1000:.1f} s, LCP {a['largest-contentful-paint']['numericValue'] / 1000:.1f} s, "
      f"{kib:,.0f} KiB")
PY
done

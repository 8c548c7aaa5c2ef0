#!/usr/bin/env bash
# Runs Chronicle on the embedded default (SQLite under data/) with the demo data.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$HOME/.cargo/bin:$PATH"
export LEPTOS_OUTPUT_NAME=chronicle
bash scripts/setup.sh
cargo leptos build --release --split --precompress
export LEPTOS_SITE_ROOT="${LEPTOS_SITE_ROOT:-target/site}"
exec target/release/server --demo "$@"

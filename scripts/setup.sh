#!/usr/bin/env bash
# Installs what building, running and testing Chronicle needs; skips what is already there.
# Versions are pinned to what builds on rustc 1.95 offline-from-GitHub machines (see TOOLCHAIN.md).
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$HOME/.cargo/bin:$PATH"

LEPTOS_VERSION=0.3.10
WASM_BINDGEN_VERSION=0.2.130
BINARYEN_VERSION=132

say() { printf '\033[1;34m[setup]\033[0m %s\n' "$*"; }

if ! rustup target list --installed | grep -qx wasm32-unknown-unknown; then
  say "adding the wasm32 target"
  rustup target add wasm32-unknown-unknown
fi

if ! cargo leptos --version 2>/dev/null | grep -q "$LEPTOS_VERSION"; then
  say "installing cargo-leptos $LEPTOS_VERSION (about 14 minutes, once per machine)"
  cargo install cargo-leptos --version "$LEPTOS_VERSION" --locked
fi

if ! wasm-bindgen --version 2>/dev/null | grep -q "$WASM_BINDGEN_VERSION"; then
  say "installing wasm-bindgen-cli $WASM_BINDGEN_VERSION"
  # No --locked: its lock file names a crate version the registry lacks.
  cargo install wasm-bindgen-cli --version "$WASM_BINDGEN_VERSION"
fi

if ! wasm-opt --version 2>/dev/null | grep -q "$BINARYEN_VERSION"; then
  say "installing binaryen $BINARYEN_VERSION (wasm-opt)"
  npm install -g "binaryen@$BINARYEN_VERSION" >/dev/null
fi
say "toolchain ready"

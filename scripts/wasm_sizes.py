#!/usr/bin/env python3
"""Gzipped bytes the browser loads: the first load (main WASM + JS glue + split loader) and what
each group of pages adds when one of its pages is first visited (its lazy chunks; chunks shared
with a group loaded before are not fetched again)."""
import gzip, json, pathlib, re, sys

pkg = pathlib.Path(sys.argv[1] if len(sys.argv) > 1 else "target/site/pkg")
gz = lambda p: len(gzip.compress(p.read_bytes(), 9))
# The JS glue imports the split loader at once, so it is part of the first load too.
first = gz(pkg / "chronicle.wasm") + gz(pkg / "chronicle.js") + sum(gz(p) for p in pkg.glob("__wasm_split*.js"))
print(f"first load (any page's shell, the login page): {first:,} bytes gzipped")
manifest = json.loads((pkg / "__wasm_split_manifest.json").read_text())
for split, chunks in sorted(manifest.items()):
    group = re.sub(r"^_*(.*?)_\d+$", r"\1", split)
    files = [pkg / f"{c}.wasm" for c in chunks if (pkg / f"{c}.wasm").exists()]
    print(f"  + {group:<20} {sum(gz(p) for p in files):>9,} bytes gzipped in {len(files)} files")

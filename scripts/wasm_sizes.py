#!/usr/bin/env python3
"""Gzipped bytes the browser loads: the first load (main WASM + JS glue + split loader) and what
each group of pages adds when one of its pages is first visited (its lazy chunks; chunks shared
with a group loaded before are not fetched again)."""
import gzip, json, pathlib, re, sys


def data_bytes(path):
    """Bytes in a module's data section (its read-only data: strings, tables)."""
    wasm, i, total = path.read_bytes(), 8, 0
    def leb(i):
        value = shift = 0
        while True:
            byte = wasm[i]; i += 1; value |= (byte & 0x7F) << shift; shift += 7
            if byte < 0x80:
                return value, i
    while i < len(wasm):
        section = wasm[i]
        size, i = leb(i + 1)
        total += size if section == 11 else 0
        i += size
    return total


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

# wasm-split keeps every chunk's read-only data in the main module when its per-chunk layout
# outgrows the linker's segment, silently; SPLIT_DATA_SLACK (frontend/src/lib.rs) prevents it.
lazy = [p for p in pkg.glob("*.wasm") if p.name != "chronicle.wasm"]
if manifest and not any(data_bytes(p) for p in lazy):
    sys.exit("wasm-split left all read-only data in the main module: enlarge SPLIT_DATA_SLACK in frontend/src/lib.rs")
print(f"main module read-only data: {data_bytes(pkg / 'chronicle.wasm'):,} bytes; lazy chunks: {sum(map(data_bytes, lazy)):,}")

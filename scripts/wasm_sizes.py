#!/usr/bin/env python3
"""Bytes the browser receives (the brotli files the server sends, precompressed at build
time): the first load (main WASM + JS glue + split loader) and what each group of pages adds
when one of its pages is first visited (its lazy chunks; chunks shared with a group loaded
before are not fetched again). Names carry content hashes (target/release/hash.txt)."""
import json, pathlib, re, sys


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
hashes = pathlib.Path(sys.argv[2] if len(sys.argv) > 2 else "target/release/hash.txt")
hashed = dict(line.split(": ", 1) for line in hashes.read_text().splitlines() if ": " in line) if hashes.exists() else {}
name = lambda base, key, ext: f"{base}.{hashed[key]}.{ext}" if key in hashed else f"{base}.{ext}"
main_wasm, main_js = pkg / name("chronicle", "wasm", "wasm"), pkg / name("chronicle", "js", "js")


def wire(p):
    """What goes over the wire for `p`: its precompressed brotli file, else the file itself."""
    br = p.with_name(p.name + ".br")
    return br.stat().st_size if br.exists() else p.stat().st_size


# The JS glue imports the split loader at once, so it is part of the first load too.
first = wire(main_wasm) + wire(main_js) + sum(wire(p) for p in pkg.glob("__wasm_split*.js"))
print(f"first load (any page's shell, the login page): {first:,} bytes on the wire (brotli)")
manifest = json.loads(pkg.joinpath(name("__wasm_split_manifest", "manifest", "json")).read_text())
for split, chunks in sorted(manifest.items()):
    group = re.sub(r"^_*(.*?)_\d+$", r"\1", split)
    files = [pkg / f"{c}.wasm" for c in chunks if (pkg / f"{c}.wasm").exists()]
    print(f"  + {group:<20} {sum(wire(p) for p in files):>9,} bytes on the wire in {len(files)} files")

# wasm-split keeps every chunk's read-only data in the main module when its per-chunk layout
# outgrows the linker's segment, silently; SPLIT_DATA_SLACK (frontend/src/lib.rs) prevents it.
lazy = [p for p in pkg.glob("*.wasm") if p != main_wasm]
if manifest and not any(data_bytes(p) for p in lazy):
    sys.exit("wasm-split left all read-only data in the main module: enlarge SPLIT_DATA_SLACK in frontend/src/lib.rs")
print(f"main module read-only data: {data_bytes(main_wasm):,} bytes; lazy chunks: {sum(map(data_bytes, lazy)):,}")

#!/usr/bin/env python3
"""Verifies a Chronicle audit trail without Chronicle: only an RFC 8785 (JCS) library and an
Ed25519 library (`pip install rfc8785 cryptography`).

    verify_audit.py EXPORT.jsonl CHECKPOINTS.json PUBLIC_KEY

EXPORT.jsonl      GET /api/v1/orgs/{org}/audit/export?format=jsonl
CHECKPOINTS.json  GET /api/v1/orgs/{org}/audit/checkpoints
PUBLIC_KEY        public_key (base64) from GET /api/v1/audit/signing-key

The algorithm (README "Audit trail integrity"): events in seq order; each sealed event's
prev_hash is the previous sealed event's hash (64 zeros for the first; for a trail pruned by
retention, the hash of the anchor: the newest checkpoint before the first event), and
hash = hex(SHA-256(prev_hash + "\\n" + JCS(event without hash and prev_hash))). Each
checkpoint's signature is Ed25519 over JCS({org_id, seq, hash, created_at}) and its hash is
the event's at that seq. Prints {ok, events_checked, checkpoints_checked, first_bad_seq,
reason}; exits 1 when the trail does not verify.
"""
import base64
import hashlib
import json
import sys

import rfc8785
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

GENESIS = "0" * 64


def verify(events, checkpoints, public_key):
    report = {"ok": True, "events_checked": 0, "checkpoints_checked": 0, "first_bad_seq": None, "reason": None}

    def fail(seq, reason):
        if report["ok"]:
            report.update(ok=False, first_bad_seq=seq, reason=reason)

    key = Ed25519PublicKey.from_public_bytes(base64.b64decode(public_key))
    by_seq = {}
    prev = GENESIS
    sealed = [e for e in sorted(events, key=lambda e: e["seq"]) if e.get("hash") is not None]
    # A pruned trail starts at its anchor: the newest checkpoint before its first event,
    # whose hash the first event continues from.
    if sealed and sealed[0].get("prev_hash") != GENESIS:
        before = [c for c in checkpoints if c["seq"] < sealed[0]["seq"]]
        if before:
            anchor = max(before, key=lambda c: c["seq"])
            by_seq[anchor["seq"]] = anchor["hash"]
            prev = anchor["hash"]
    for event in sealed:
        report["events_checked"] += 1
        body = {k: v for k, v in event.items() if k not in ("hash", "prev_hash")}
        expected = hashlib.sha256(prev.encode() + b"\n" + rfc8785.dumps(body)).hexdigest()
        if event.get("prev_hash") != prev:
            fail(event["seq"], "does not continue the chain (an event before it was deleted, inserted or moved)")
        elif expected != event["hash"]:
            fail(event["seq"], "does not match its hash (changed after sealing)")
        by_seq[event["seq"]] = event["hash"]
        prev = event["hash"]
    for c in sorted(checkpoints, key=lambda c: c["seq"]):
        report["checkpoints_checked"] += 1
        message = rfc8785.dumps({"org_id": c["org_id"], "seq": c["seq"], "hash": c["hash"], "created_at": c["created_at"]})
        try:
            key.verify(base64.b64decode(c["signature"]), message)
        except (InvalidSignature, ValueError):
            fail(c["seq"], "the checkpoint's signature does not verify")
            continue
        if by_seq.get(c["seq"]) != c["hash"]:
            fail(c["seq"], "the event the checkpoint names is gone or different")
    return report


def main(argv):
    if len(argv) != 4:
        print(__doc__, file=sys.stderr)
        return 2
    with open(argv[1], encoding="utf-8") as f:
        events = [json.loads(line) for line in f if line.strip()]
    with open(argv[2], encoding="utf-8") as f:
        checkpoints = json.load(f)["checkpoints"]
    report = verify(events, checkpoints, argv[3])
    print(json.dumps(report))
    return 0 if report["ok"] else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv))

#!/usr/bin/env python3
"""Checks Chronicle's output with other people's libraries, as a SIEM would read it.

    interop_check.py ocsf ROWS.jsonl
        every row valid against the OCSF 1.5.0 schema of its class (`ocsf-json-schema`
        bundles it; `jsonschema` checks it)
    interop_check.py totp OTPAUTH_URI
        the URI reads as a 6-digit, 30-second SHA-1 TOTP (`pyotp`), and the codes of the
        previous, current and next step, with the current step's number
    interop_check.py webhooks DELIVERIES.json SECRET
        every captured stream delivery ({headers, body}) verifies with the Standard Webhooks
        library (`standardwebhooks`), and a tampered body does not

Prints a JSON summary; exits 1 on the first failure.
"""
import json
import sys


def check_ocsf(path):
    import jsonschema
    import ocsf_json_schema as ocsf

    embedded = ocsf.OcsfJsonSchemaEmbedded(ocsf.get_ocsf_schema(version="1.5.0"))
    validators = {}
    classes = {}
    with open(path, encoding="utf-8") as f:
        rows = [json.loads(line) for line in f if line.strip()]
    for i, row in enumerate(rows):
        uid = row.get("class_uid")
        if uid not in validators:
            schema = embedded.get_class_schema(embedded.lookup_class_name_from_uid(uid))
            validators[uid] = jsonschema.Draft202012Validator(schema)
        errors = sorted(validators[uid].iter_errors(row), key=lambda e: list(e.path))
        if errors:
            first = errors[0]
            print(json.dumps({"ok": False, "row": i, "class_uid": uid, "path": list(first.path), "error": first.message}))
            return 1
        if row["metadata"]["version"] != "1.5.0":
            print(json.dumps({"ok": False, "row": i, "error": "metadata.version is not 1.5.0"}))
            return 1
        classes[uid] = classes.get(uid, 0) + 1
    print(json.dumps({"ok": True, "rows": len(rows), "classes": {str(k): v for k, v in sorted(classes.items())}}))
    return 0


def check_webhooks(path, secret):
    from standardwebhooks.webhooks import Webhook, WebhookVerificationError

    hook = Webhook(secret)
    with open(path, encoding="utf-8") as f:
        deliveries = json.load(f)
    for i, d in enumerate(deliveries):
        try:
            hook.verify(d["body"], d["headers"])
        except WebhookVerificationError as err:
            print(json.dumps({"ok": False, "delivery": i, "error": str(err)}))
            return 1
        try:
            hook.verify(d["body"] + " ", d["headers"])
            print(json.dumps({"ok": False, "delivery": i, "error": "a tampered body verified"}))
            return 1
        except WebhookVerificationError:
            pass
    print(json.dumps({"ok": True, "verified": len(deliveries)}))
    return 0


def totp_codes(uri):
    import time

    import pyotp

    totp = pyotp.parse_uri(uri)
    if not isinstance(totp, pyotp.TOTP) or totp.digits != 6 or totp.interval != 30 or totp.digest().name != "sha1":
        print(json.dumps({"ok": False, "error": "not a 6-digit, 30-second SHA-1 TOTP URI"}))
        return 1
    now = time.time()
    codes = {name: totp.at(now + offset) for name, offset in (("previous", -30), ("current", 0), ("next", 30))}
    print(json.dumps({"ok": True, "issuer": totp.issuer, "name": totp.name, "step": int(now // 30), **codes}))
    return 0


def main(argv):
    if len(argv) == 3 and argv[1] == "ocsf":
        return check_ocsf(argv[2])
    if len(argv) == 3 and argv[1] == "totp":
        return totp_codes(argv[2])
    if len(argv) == 4 and argv[1] == "webhooks":
        return check_webhooks(argv[2], argv[3])
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))

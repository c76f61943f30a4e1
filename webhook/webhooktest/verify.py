#!/usr/bin/python3
"""Checks webhook signatures with Python's own hmac module.

Reads JSON lines from stdin, each {"scheme", "secret", "id", "timestamp",
"body", "signature"}, and prints "ok" or "bad" per line: an independent
check of webhook.Sign (used by TestPythonHMAC and the senders' tests).

scheme "standard" (Standard Webhooks): the key is the base64 after "whsec_";
the signature header may list several space-separated signatures.
scheme "mlflow" (MLflow 3, as mlflow/webhooks/delivery.py signs): the key
is the secret's UTF-8 bytes; the header is one "v1," signature.
"""
import base64
import hashlib
import hmac
import json
import sys

for line in sys.stdin:
    m = json.loads(line)
    signed = ("%s.%s.%s" % (m["id"], m["timestamp"], m["body"])).encode("utf-8")
    if m.get("scheme") == "mlflow":
        key = m["secret"].encode("utf-8")
        sigs = [m["signature"]]
    else:
        key = base64.b64decode(m["secret"][len("whsec_"):])
        sigs = m["signature"].split()
    want = "v1," + base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()
    ok = any(hmac.compare_digest(want, s) for s in sigs)
    print("ok" if ok else "bad")

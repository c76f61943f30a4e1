#!/usr/bin/python3
"""Checks Standard Webhooks signatures with Python's own hmac module.

Reads JSON lines from stdin, each {"secret": "whsec_...", "id", "timestamp",
"body", "signature"}, and prints "ok" or "bad" per line: an independent
check of webhook.Sign (used by TestPythonHMAC).
"""
import base64
import hashlib
import hmac
import json
import sys

for line in sys.stdin:
    m = json.loads(line)
    key = base64.b64decode(m["secret"][len("whsec_"):])
    signed = ("%s.%s." % (m["id"], m["timestamp"])).encode() + m["body"].encode()
    want = "v1," + base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()
    ok = any(hmac.compare_digest(want, s) for s in m["signature"].split())
    print("ok" if ok else "bad")

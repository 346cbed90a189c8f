"""The baseline for bench_ingest: a Flask endpoint that only checks the HMAC and answers 202."""

import hashlib
import hmac
import os

from flask import Flask, request

app = Flask(__name__)
SECRET = os.environ["ENTITLEMENTS_ZAMMAD_WEBHOOK_SECRET"].encode()


@app.post("/webhooks/zammad")
def receive():
    body = request.get_data()
    expected = "sha1=" + hmac.new(SECRET, body, hashlib.sha1).hexdigest()
    if not hmac.compare_digest(expected, request.headers.get("X-Hub-Signature", "")):
        return {"error": "invalid_signature"}, 401
    return {"status": "accepted"}, 202

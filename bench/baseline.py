"""The baseline: a bare Flask app answering the helpline's paths with a fixed TwiML string.

Run under gunicorn by the same Procfile line as the helpline (`bench.baseline:app` in place
of `ivr:create_app()`), it measures what gunicorn, Flask and the machine cost before any of
the helpline's own work: no signature check, no menu, no database.
"""

from __future__ import annotations

from flask import Flask, Response

VOICE = (
    '<?xml version="1.0" encoding="UTF-8"?><Response>'
    '<Gather action="/voice/menu?l=en&amp;m=main" input="dtmf speech" numDigits="1">'
    '<Say voice="Polly.Joanna" language="en-US">Thank you for calling.</Say>'
    "</Gather></Response>"
)
SMS = (
    '<?xml version="1.0" encoding="UTF-8"?><Response>'
    "<Message>Thank you for your text.</Message></Response>"
)

app = Flask(__name__)


@app.post("/voice")
@app.post("/voice/menu")
@app.post("/voice/summary")
def voice() -> Response:
    """Every voice path: the same fixed TwiML."""
    return Response(VOICE, mimetype="text/xml")


@app.post("/sms")
def sms() -> Response:
    """The text path: the same fixed TwiML."""
    return Response(SMS, mimetype="text/xml")


@app.get("/healthz")
def healthz() -> Response:
    """Ready, as the benchmark waits for."""
    return Response("ok", mimetype="text/plain")

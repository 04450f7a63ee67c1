"""The baselines: Flask apps answering the helpline's paths with a fixed TwiML string.

Run under gunicorn by the same Procfile line as the helpline (`bench.baseline:app` or
`bench.baseline:floor()` in place of `ivr:create_app()`):

- `app`, bare Flask: what gunicorn, Flask and the machine cost before any of the helpline's
  own work (no form read, no signature check, no menu, no database). The ratio target is
  taken against it.
- `floor()`: the least any webhook that Twilio may trust must also do: read the form and
  check its X-Twilio-Signature (one HMAC, with twilio's RequestValidator, for the URL as the
  app sees it), refusing a wrong one with 403; then the same fixed TwiML. What the helpline
  spends above it is its own work: the menu, the database, the reply.
"""

from __future__ import annotations

import hmac
import os

from flask import Flask, Response, abort, request
from twilio.request_validator import RequestValidator

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


def _answering(app: Flask) -> Flask:
    """The helpline's paths on `app`, each answering the fixed TwiML."""

    def voice() -> Response:
        return Response(VOICE, mimetype="text/xml")

    def sms() -> Response:
        return Response(SMS, mimetype="text/xml")

    def healthz() -> Response:
        return Response("ok", mimetype="text/plain")  # ready, as the benchmark waits for

    for path in ("/voice", "/voice/menu", "/voice/summary"):
        app.add_url_rule(path, f"voice {path}", voice, methods=["POST"])
    app.add_url_rule("/sms", "sms", sms, methods=["POST"])
    app.add_url_rule("/healthz", "healthz", healthz)
    return app


app = _answering(Flask(__name__))


def floor() -> Flask:
    """The bare app plus the form read and Twilio's signature check (TWILIO_AUTH_TOKEN)."""
    validator = RequestValidator(os.environ["TWILIO_AUTH_TOKEN"])
    signed = Flask(__name__)

    @signed.before_request
    def check_signature() -> None:
        if request.method != "POST":
            return
        environ = request.environ
        url = f"{request.scheme}://{request.host}{environ.get('RAW_URI') or request.full_path}"
        expected = validator.compute_signature(url, request.form)
        if not hmac.compare_digest(expected, request.headers.get("X-Twilio-Signature", "")):
            abort(403)

    return _answering(signed)

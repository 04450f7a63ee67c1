"""Going live: `ivr twilio configure` against Prism (Twilio's API description), a deployment
that answers over HTTPS, and the call status callback it sets."""

from __future__ import annotations

import json
import re
import ssl
import subprocess
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from ivr import golive
from ivr.cli import main

from .caller import Caller
from .prism import Prism

NUMBER = "+12032450412"
URLS = {
    "voice_url": "/voice",
    "voice_fallback_url": "/voice/fallback",
    "sms_url": "/sms",
    "sms_fallback_url": "/sms/fallback",
    "status_callback": "/voice/status",
}
ACCOUNT = "AC" + "1" * 32


class Health(BaseHTTPRequestHandler):
    """A deployment's /healthz, as the line answers it."""

    status = "ok"

    def do_GET(self):  # noqa: N802 (http.server's name)
        body = json.dumps({"status": self.status}).encode()
        self.send_response(200 if self.path == "/healthz" else 404)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.fixture
def deployment(tmp_path, monkeypatch):
    """An HTTPS server on 127.0.0.1 with a self-signed certificate the client is told to trust."""
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1"]
        + ["-keyout", str(key), "-out", str(cert), "-subj", "/CN=127.0.0.1"]
        + ["-addext", "subjectAltName=IP:127.0.0.1"],
        check=True,
        capture_output=True,
    )
    server = ThreadingHTTPServer(("127.0.0.1", 0), Health)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    monkeypatch.setenv("SSL_CERT_FILE", str(cert))
    yield f"https://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


@pytest.fixture(scope="module")
def lenient_prism(tmp_path_factory):
    """Prism without --errors: Twilio's own examples for IncomingPhoneNumbers break their
    schema (empty application sids, "uri" fields that are paths), so a strict Prism answers
    500 to every read. It still checks each request we send against the description."""
    server = Prism(tmp_path_factory.mktemp("prism") / "prism.log", errors=False)
    try:
        server.start()
    except RuntimeError as exc:
        pytest.fail(str(exc), pytrace=False)
    yield server
    server.stop()


@pytest.fixture
def twilio_env(monkeypatch, lenient_prism):
    prism = lenient_prism
    monkeypatch.setenv("TWILIO_ACCOUNT_SID", ACCOUNT)
    monkeypatch.setenv("TWILIO_AUTH_TOKEN", "t" * 32)
    monkeypatch.setenv("TWILIO_API_BASE", prism.base)
    return prism


def test_the_settings_a_number_needs():
    assert golive.wanted("https://line.example.org/") == {
        "voice_url": "https://line.example.org/voice",
        "voice_method": "POST",
        "voice_fallback_url": "https://line.example.org/voice/fallback",
        "voice_fallback_method": "POST",
        "sms_url": "https://line.example.org/sms",
        "sms_method": "POST",
        "sms_fallback_url": "https://line.example.org/sms/fallback",
        "sms_fallback_method": "POST",
        "status_callback": "https://line.example.org/voice/status",
        "status_callback_method": "POST",
    }


@pytest.mark.parametrize(
    ("base", "says"),
    [
        ("http://line.example.org", "must start with https://"),
        ("line.example.org", "must start with https://"),
        ("https://line.example.org/?x=1", "no ?query"),
        ("https://127.0.0.1:9", "did not answer over HTTPS"),
    ],
)
def test_a_base_url_that_is_not_a_live_https_line_is_refused(base, says):
    with pytest.raises(golive.GoLiveError, match=says.replace("?", r"\?")):
        golive.check_base(base)


def test_a_deployment_that_says_it_is_not_up_is_refused(deployment, monkeypatch):
    monkeypatch.setattr(Health, "status", "starting")
    with pytest.raises(golive.GoLiveError, match="not that the line is up"):
        golive.check_base(deployment)


def test_dry_run_reads_the_number_and_changes_nothing(deployment, twilio_env, capsys):
    mark = twilio_env.mark()
    assert (
        main(["twilio", "configure", "--number", NUMBER, "--base-url", deployment, "--dry-run"])
        == 0
    )
    out = capsys.readouterr().out
    assert out.startswith(f"{deployment}/healthz answers over HTTPS: the line is up.\n")
    for field, path in URLS.items():  # Twilio's example number has none of ours yet
        assert f"  {field}: (not set) -> {deployment}{path}\n" in out
    assert re.search(r"\nDry run: \d+ settings of \+12032450412 would change; none did.\n$", out)
    seen = twilio_env.requests(mark)
    assert [(r.method, r.path.split("?")[0]) for r in seen] == [
        ("GET", f"/2010-04-01/Accounts/{ACCOUNT}/IncomingPhoneNumbers.json")
    ]
    assert seen[0].valid


def test_configure_sets_every_webhook_through_the_rest_api(deployment, twilio_env, capsys):
    mark = twilio_env.mark()
    assert main(["twilio", "configure", "--number", NUMBER, "--base-url", deployment]) == 0
    assert re.search(r"\nChanged \d+ settings of \+12032450412.\n$", capsys.readouterr().out)
    read, update = twilio_env.requests(mark)
    assert (read.method, read.path) == (
        "GET",
        f"/2010-04-01/Accounts/{ACCOUNT}/IncomingPhoneNumbers.json",  # Prism logs no query
    )
    assert update.method == "POST" and update.valid
    assert update.path.startswith(f"/2010-04-01/Accounts/{ACCOUNT}/IncomingPhoneNumbers/PN")
    sent_urls = {k: v for k, v in update.form.items() if not k.endswith("Method")}
    assert sent_urls == {
        "VoiceUrl": f"{deployment}/voice",
        "VoiceFallbackUrl": f"{deployment}/voice/fallback",
        "SmsUrl": f"{deployment}/sms",
        "SmsFallbackUrl": f"{deployment}/sms/fallback",
        "StatusCallback": f"{deployment}/voice/status",
    }
    assert all(v == "POST" for k, v in update.form.items() if k.endswith("Method"))


def test_configure_refuses_an_http_base_url_before_any_rest_call(twilio_env, capsys):
    mark = twilio_env.mark()
    code = main(["twilio", "configure", "--number", NUMBER, "--base-url", "http://x.example"])
    assert code == 1
    assert "error: the base URL must start with https://" in capsys.readouterr().err
    assert twilio_env.requests(mark) == []


def test_configure_needs_credentials(monkeypatch, capsys):
    monkeypatch.delenv("TWILIO_ACCOUNT_SID", raising=False)
    code = main(["twilio", "configure", "--number", NUMBER, "--base-url", "https://x.example"])
    assert code == 1
    assert "set TWILIO_ACCOUNT_SID and TWILIO_AUTH_TOKEN" in capsys.readouterr().err


def test_the_status_callback_keeps_one_event_per_call(app, client):
    caller = Caller(client)
    caller.call()
    form = {"CallSid": caller.sid, "From": "+12035550123", "CallStatus": "completed"}
    for _ in range(2):  # Twilio retries a callback it thinks failed
        response = client.post("/voice/status", data={**form, "CallDuration": "130"})
        assert response.status_code == 200
        assert response.data == b'<?xml version="1.0" encoding="UTF-8"?><Response/>'
    memory = app.extensions["ivr.store"]
    assert memory.count("call-ended") == 1

"""A voicemail's recording, played through the console: fetched from Twilio with the account's
credentials, streamed in chunks, never cached, audited; only api.twilio.com addresses fetched.

Twilio's API description (the one Prism serves) has no route that answers audio: its
Recordings/{Sid}.json answers JSON only. So these tests stand up a tiny local HTTP server
in Twilio's place (TWILIO_API_BASE) that checks the basic-auth header and serves bytes.
"""

from __future__ import annotations

import base64
import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from ivr.outbound import CHUNK_BYTES, recording_media_url

from .test_staff import ADMIN, COUNSELOR, NOW, add_staff, sign_in

ACCOUNT, TOKEN = "AC" + "0" * 32, "test-auth-token"  # conftest's settings
STORED = f"https://api.twilio.com/2010-04-01/Accounts/{ACCOUNT}/Recordings/RE" + "1" * 32
AUDIO = bytes(range(256)) * 200  # 51,200 bytes: several chunks


class FakeTwilio(BaseHTTPRequestHandler):
    """Answers GET <recording>.mp3 with AUDIO when the basic-auth header is the account's."""

    seen: list[tuple[str, str | None]] = []
    cut = False  # send half the audio, then drop the connection

    def do_GET(self) -> None:  # noqa: N802 (the name http.server calls)
        auth = self.headers.get("Authorization")
        self.seen.append((self.path, auth))
        expected = "Basic " + base64.b64encode(f"{ACCOUNT}:{TOKEN}".encode()).decode()
        if auth != expected:
            self.send_response(401)
            self.end_headers()
            return
        if not self.path.endswith(".mp3") or "/Recordings/RE" not in self.path:
            self.send_response(404)
            self.end_headers()
            return
        self.send_response(200)
        self.send_header("Content-Type", "audio/mpeg")
        self.send_header("Content-Length", str(len(AUDIO)))
        self.end_headers()
        if self.cut:
            self.wfile.write(AUDIO[: len(AUDIO) // 2])
            self.wfile.flush()
            self.connection.shutdown(socket.SHUT_RDWR)
            return
        self.wfile.write(AUDIO)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def twilio():
    """The fake Twilio, on a free local port; its base address."""
    FakeTwilio.seen = []
    FakeTwilio.cut = False
    server = ThreadingHTTPServer(("127.0.0.1", 0), FakeTwilio)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


@pytest.fixture
def console(make_app, db_url, twilio):
    app = make_app(DATABASE_URL=db_url, TWILIO_API_BASE=twilio)
    add_staff(app)
    add_staff(app, ADMIN, "admin")
    return app


def voicemail(app, url: str = STORED) -> int:
    store = app.extensions["ivr.store"]
    return store.add_request("voicemail", "voice", "+12035550123", "en", NOW, None, url, 12)


def test_the_recording_streams_with_the_accounts_credentials_and_is_audited(console):
    entry = voicemail(console)
    browser = console.test_client()
    sign_in(browser)
    page = browser.get("/staff").text
    player = (
        f'<audio controls preload="none" src="/staff/recording/{entry}" '
        f'aria-label="Recording of #{entry}"><a href="/staff/recording/{entry}">'
        f"Play the recording of #{entry}</a></audio>"
    )
    assert player in page
    assert "api.twilio.com" not in page  # never Twilio's own (public-looking) link
    with browser.get(f"/staff/recording/{entry}", buffered=False) as response:
        assert response.status_code == 200
        assert response.mimetype == "audio/mpeg"
        assert response.headers["Cache-Control"] == "no-store"
        assert response.is_streamed
        chunks = list(response.response)
    assert b"".join(chunks) == AUDIO
    assert len(chunks) > 1 and max(len(c) for c in chunks) <= CHUNK_BYTES
    [(path, _)] = FakeTwilio.seen
    assert path == f"/2010-04-01/Accounts/{ACCOUNT}/Recordings/RE{'1' * 32}.mp3"
    latest = console.extensions["ivr.store"].audit_entries()[0]
    assert (latest.who, latest.what, latest.request_id) == (COUNSELOR, "played recording", entry)


def test_a_recording_cut_off_midway_ends_the_stream_and_says_why_in_the_log(console, caplog):
    FakeTwilio.cut = True
    entry = voicemail(console)
    browser = console.test_client()
    sign_in(browser)
    with browser.get(f"/staff/recording/{entry}", buffered=False) as response:
        assert response.status_code == 200
        received = b"".join(response.response)
    assert 0 < len(received) < len(AUDIO) and AUDIO.startswith(received)
    assert "recording stream broken" in caplog.text


def test_the_recording_needs_a_login(console):
    entry = voicemail(console)
    response = console.test_client().get(f"/staff/recording/{entry}")
    assert response.status_code == 302 and response.location.startswith("/staff/login")
    assert FakeTwilio.seen == []


@pytest.mark.parametrize("case", ["no such entry", "no recording"])
def test_no_recording_is_404(console, case):
    store = console.extensions["ivr.store"]
    entry = store.add_request("callback", "sms", "+12035550123", "en", NOW)
    browser = console.test_client()
    sign_in(browser)
    path = f"/staff/recording/{entry + 100 if case == 'no such entry' else entry}"
    assert browser.get(path).status_code == 404
    assert FakeTwilio.seen == []


def test_wrong_credentials_or_twilio_down_say_so(make_app, twilio):
    app = make_app(TWILIO_API_BASE=twilio, TWILIO_ACCOUNT_SID="AC" + "9" * 32)
    add_staff(app)
    entry = voicemail(app)
    browser = app.test_client()
    sign_in(browser)
    response = browser.get(f"/staff/recording/{entry}")
    assert response.status_code == 502
    assert "The recording could not be fetched from Twilio" in response.text
    assert [a.what for a in app.extensions["ivr.store"].audit_entries()][0] == "login"


FORGED = [
    "http://evil.example/2010-04-01/Accounts/AC1/Recordings/RE1",
    "https://api.twilio.com.evil.example/2010-04-01/Accounts/AC1/Recordings/RE1",
    "https://evil.example/?https://api.twilio.com/2010-04-01/Accounts/AC1/Recordings/RE1",
    "https://user:pw@api.twilio.com/2010-04-01/Accounts/AC1/Recordings/RE1",
    "https://api.twilio.com@evil.example/2010-04-01/Accounts/AC1/Recordings/RE1",
    "https://api.twilio.com:8443/2010-04-01/Accounts/AC1/Recordings/RE1",
    "https://api.twilio.com/2010-04-01/Accounts/AC1/Recordings/../../../../etc",
    "https://api.twilio.com/2010-04-01/Accounts/AC1/Recordings/RE1%2F..%2F..",
    "https://api.twilio.com/2010-04-01/Accounts/AC1/Messages/SM1",
    "https://api.twilio.com/somewhere/else",
    "https://api.twilio.com/2010-04-01/Accounts/AC1/Recordings/RE1?x=1",
    "file:///etc/passwd",
    "gopher://api.twilio.com/2010-04-01/Accounts/AC1/Recordings/RE1",
    "//api.twilio.com/2010-04-01/Accounts/AC1/Recordings/RE1",
    "https://[::1]/2010-04-01/Accounts/AC1/Recordings/RE1",
    "https://api.twilio.com:99999/2010-04-01/Accounts/AC1/Recordings/RE1",
    "",
]


@pytest.mark.parametrize("stored", FORGED)
def test_only_twilio_recording_addresses_are_fetched(stored):
    assert recording_media_url(stored, "http://127.0.0.1:9") is None


@pytest.mark.parametrize(
    ("stored", "fetched"),
    [
        (STORED, f"/2010-04-01/Accounts/{ACCOUNT}/Recordings/RE{'1' * 32}.mp3"),
        (STORED + ".wav", f"/2010-04-01/Accounts/{ACCOUNT}/Recordings/RE{'1' * 32}.mp3"),
        (
            "http://api.twilio.com:443/2010-04-01/Accounts/AC1/Recordings/RE2.json",
            "/2010-04-01/Accounts/AC1/Recordings/RE2.mp3",
        ),
    ],
)
def test_a_twilio_recording_is_fetched_as_mp3_from_the_api_base(stored, fetched):
    assert (
        recording_media_url(stored, "http://127.0.0.1:4010/") == "http://127.0.0.1:4010" + fetched
    )


def test_a_forged_address_is_never_fetched(console):
    entry = voicemail(console, "http://127.0.0.1:1/2010-04-01/Accounts/AC1/Recordings/RE1")
    browser = console.test_client()
    sign_in(browser)
    assert browser.get(f"/staff/recording/{entry}").status_code == 502
    assert FakeTwilio.seen == []

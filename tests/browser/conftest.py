"""The console under gunicorn on each engine, two staff accounts, and one headless Chromium."""

from __future__ import annotations

import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from datetime import UTC, datetime
from types import SimpleNamespace

import pytest

from ivr import accounts, migrate
from ivr.store import Store
from ivr.tables import Base

from ..conftest import app_settings, twilio_signature
from ..server import Gunicorn
from .chrome import Browser, missing

PASSWORD = "correct horse battery"
ADMIN, COUNSELOR = "lee@waterstone.example", "dana@waterstone.example"
COUNSELOR_PHONE = "+12035550100"  # the counselor's own phone, for calling back as the center
ADDED = datetime(2026, 12, 1, 14, 0, tzinfo=UTC)


@pytest.fixture(scope="session")
def browser():
    """Debian's Chromium, headless; fails (never skips) when it or axe-core is not installed."""
    absent = missing()
    if absent:
        pytest.fail("the browser tests cannot run:\n  " + "\n  ".join(absent), pytrace=False)
    chromium = Browser()
    yield chromium
    chromium.quit()


@pytest.fixture
def page(browser):
    """The browser with no session cookie, in a desktop window."""
    browser.fresh()
    return browser


class Reply:
    """What a Caller reads of a webhook's answer (the shape of Flask's test response)."""

    def __init__(self, status: int, content_type: str, body: bytes):
        self.status_code = status
        self.mimetype = content_type.split(";")[0].strip()
        self.data = body


class Wire:
    """Posts to the app under gunicorn, signed as Twilio signs them: a Caller's client."""

    def __init__(self, server: Gunicorn):
        self.server = server

    def post(self, path: str, data: dict) -> Reply:
        url = self.server.base + path
        body = urllib.parse.urlencode(data).encode()
        headers = {"X-Twilio-Signature": twilio_signature(url, data)}
        request = urllib.request.Request(url, data=body, headers=headers)
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                return Reply(response.status, response.headers["Content-Type"], response.read())
        except urllib.error.HTTPError as error:
            return Reply(error.code, error.headers.get("Content-Type", ""), error.read())


@dataclass
class Console:
    """The running console: its address, its database, and which engine that is."""

    server: Gunicorn
    store: Store
    engine: str

    def url(self, path: str) -> str:
        return self.server.base + path

    @property
    def wire(self) -> Wire:
        return Wire(self.server)

    def forget(self) -> None:
        """Empty every table but the staff accounts: the next test starts with no one waiting."""
        with self.store.engine.begin() as connection:
            for table in reversed(Base.metadata.sorted_tables):
                if table.name != "staff":
                    connection.execute(table.delete())


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def running(request, tmp_path_factory, postgres_database):
    """The app under gunicorn on one engine, with an admin and a counselor, for a module.

    One server per engine and module, not per test: starting gunicorn is most of a test's
    time here. Each test starts from empty tables (`console`)."""
    folder = tmp_path_factory.mktemp(f"console-{request.param}")
    if request.param == "sqlite":
        url = f"sqlite:///{folder / 'store.sqlite3'}"
    else:
        url = postgres_database()
    store = Store(url, "test-secret-key")
    migrate.upgrade(store.engine)
    hashed = accounts.hash_password(PASSWORD)
    assert store.add_staff(ADMIN, "admin", hashed, ADDED, "test")
    assert store.add_staff(COUNSELOR, "counselor", hashed, ADDED, "test", phone=COUNSELOR_PHONE)
    changes = {"DATABASE_URL": url, "IVR_STAFF_LOGINS_PER_MINUTE": "1000"}
    server = Gunicorn({**app_settings(folder), **changes}, folder / "gunicorn.log", workers=2)
    yield Console(server, store, request.param)
    server.stop()
    store.engine.dispose()


@pytest.fixture
def console(running, safety_net):
    """The running console with empty tables; fails the test if the safety net answered."""
    running.forget()
    # The fail-safe's error events are read from this store after the test (tests/conftest.py).
    safety_net.apps.append(SimpleNamespace(extensions={"ivr.store": running.store}))
    seen = len(running.server.log.read_text(errors="replace"))
    yield running
    log = running.server.log.read_text(errors="replace")[seen:]
    faults = [line for line in log.splitlines() if "fault in " in line]
    assert not faults, "the safety net answered under gunicorn:\n  " + "\n  ".join(faults)

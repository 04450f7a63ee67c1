"""Shared fixtures: the shipped menu, a copy of it to break, the app, and the safety-net probe."""

from __future__ import annotations

import logging
import os
import shutil
import uuid
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml
from flask.testing import FlaskClient
from sqlalchemy import create_engine, func, select, text
from sqlalchemy.exc import OperationalError
from twilio.request_validator import RequestValidator

from ivr import create_app, migrate
from ivr.menus import load_line
from ivr.store import Event, Store, StoreError

from .prism import Prism

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="session")
def line():
    """The shipped menus.yaml and content/, loaded once."""
    return load_line(ROOT / "menus.yaml")


@pytest.fixture
def menu_copy(tmp_path) -> Path:
    """A writable copy of menus.yaml and content/; returns the menus.yaml path."""
    shutil.copy(ROOT / "menus.yaml", tmp_path / "menus.yaml")
    shutil.copytree(ROOT / "content", tmp_path / "content")
    return tmp_path / "menus.yaml"


@pytest.fixture
def edit_yaml() -> Callable[[Path, Callable[[dict], object]], None]:
    """Load a YAML file, let a function change the data, and write it back."""

    def edit(path: Path, change: Callable[[dict], object]) -> None:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        change(data)
        path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")

    return edit


AUTH_TOKEN = "test-auth-token"


def twilio_signature(url: str, form: dict, token: str = AUTH_TOKEN) -> str:
    """The X-Twilio-Signature Twilio would send for a POST of `form` to `url`."""
    return RequestValidator(token).compute_signature(url, form)


class TwilioClient(FlaskClient):
    """A test client that signs each form POST exactly as Twilio does (unless told not to)."""

    def open(self, *args, **kwargs):
        headers = dict(kwargs.pop("headers", None) or {})
        path = args[0] if args else kwargs.get("path", "/")
        form = kwargs.get("data") or {}
        if (
            kwargs.get("method") == "POST"
            and "X-Twilio-Signature" not in headers
            and isinstance(form, dict)
        ):
            headers["X-Twilio-Signature"] = twilio_signature(f"http://localhost{path}", form)
        headers = {k: v for k, v in headers.items() if v is not None}
        return super().open(*args, headers=headers, **kwargs)


def app_settings(folder: Path) -> dict[str, str]:
    """Settings for a test app: its own SQLite file in `folder`, test mode, a fixed auth token."""
    return {
        "IVR_ENV": "test",
        "TWILIO_AUTH_TOKEN": AUTH_TOKEN,
        "TWILIO_ACCOUNT_SID": "AC" + "0" * 32,
        "SECRET_KEY": "test-secret-key",
        "DATABASE_URL": f"sqlite:///{folder / 'test.sqlite3'}",
        "IVR_MENUS": str(ROOT / "menus.yaml"),
        "IVR_NOW": "2026-12-01T10:00:00-05:00",  # a Tuesday morning: the center is open
        "TWILIO_API_BASE": "http://127.0.0.1:9",  # nothing listens: a test that texts uses Prism
    }


@pytest.fixture
def settings(tmp_path) -> dict[str, str]:
    """Settings for a test app (app_settings), in the test's own folder."""
    return app_settings(tmp_path)


@pytest.fixture
def make_app(settings, safety_net):
    """Build apps with changed settings (migrated), closing their databases afterwards."""
    made = []

    def make(**changes: str):
        app = create_app({**settings, **changes})
        app.test_client_class = TwilioClient
        made.append(app)
        safety_net.apps.append(app)
        try:
            migrate.upgrade(app.extensions["ivr.store"].engine)
        except Exception:  # a test of a database that is down
            pass
        return app

    yield make
    for app in made:
        app.extensions["ivr.store"].close()


@pytest.fixture
def app(settings, safety_net):
    """The helpline app on the shipped menu, its SQLite database migrated."""
    app = create_app(settings)
    app.test_client_class = TwilioClient
    safety_net.apps.append(app)
    migrate.upgrade(app.extensions["ivr.store"].engine)
    yield app
    app.extensions["ivr.store"].close()


@pytest.fixture
def client(app):
    """A test client for the app."""
    return app.test_client()


# The safety net, seen ----------------------------------------------------------
#
# `security.fail_safe` answers any fault in a webhook with a safe 200, so a test that
# checks only "200 and valid TwiML" cannot tell an answer from a crash. Every test
# fails when the net answered (an error event in an app's store, an exception the
# catch-all logged in this process or under gunicorn), unless it is marked
# `@pytest.mark.safety_net`: a test of the net itself.

SAFETY_NET = pytest.StashKey["SafetyNet"]()


def pytest_configure(config):
    config.addinivalue_line(
        "markers", "safety_net: the test makes the webhooks' fail-safe answer on purpose"
    )


class SafetyNet(logging.Handler):
    """Every sign, during one test, that a catch-all answered instead of the code under test."""

    def __init__(self):
        super().__init__(level=logging.ERROR)
        self.apps = []  # apps whose stores to ask for error events
        self.signs: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        message = record.getMessage()
        if record.exc_info or message.startswith("fault"):
            self.signs.append(f"{record.name}: {message}")

    def errors_stored(self) -> list[str]:
        """The fail-safe's error events in the apps' stores (none readable: a database down)."""
        found = []
        for app in self.apps:
            store: Store = app.extensions["ivr.store"]
            query = select(Event.detail, func.count()).where(Event.kind == "error")
            try:
                with store.session() as session:
                    rows = session.execute(query.group_by(Event.detail)).all()
            except StoreError:
                continue
            found += [f"error event: {detail} (x{n})" for detail, n in rows]
        return found


@pytest.fixture(autouse=True)
def safety_net(request, monkeypatch):
    """Watch for the fail-safe answering; the check runs after the test (pytest_runtest_call)."""
    from .server import Gunicorn  # it imports this module: not at the top

    net = SafetyNet()
    logger = logging.getLogger("ivr")
    logger.addHandler(net)
    stop = Gunicorn.stop

    def stop_and_read_its_log(server) -> None:
        stop(server)
        log = server.log.read_text(errors="replace")
        net.signs += [f"gunicorn: {line}" for line in log.splitlines() if "fault in " in line]

    monkeypatch.setattr(Gunicorn, "stop", stop_and_read_its_log)
    request.node.stash[SAFETY_NET] = net
    yield net
    logger.removeHandler(net)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item):
    """Fail a test in which the safety net answered, unless the test is about the net."""
    result = yield  # a test that failed already is reported as it failed
    net = item.stash.get(SAFETY_NET, None)
    if net is not None and item.get_closest_marker("safety_net") is None:
        signs = net.signs + net.errors_stored()
        if signs:
            pytest.fail(
                "the safety net answered (a crash the caller would have heard as "
                "'the help line is having a problem'):\n  " + "\n  ".join(signs[:10]),
                pytrace=False,
            )
    return result


# Databases ------------------------------------------------------------------

POSTGRES_ADMIN = os.environ.get("IVR_TEST_POSTGRES", "postgresql://postgres@127.0.0.1:5432/test")


def _postgres_admin():
    """An autocommit engine on the PostgreSQL server the tests use; fails loudly when absent."""
    engine = create_engine(
        POSTGRES_ADMIN.replace("postgresql://", "postgresql+psycopg://", 1),
        isolation_level="AUTOCOMMIT",
    )
    try:
        with engine.connect() as connection:
            connection.execute(text("SELECT 1"))
    except OperationalError as exc:
        pytest.fail(
            f"PostgreSQL is not reachable at {POSTGRES_ADMIN} ({exc.orig}); "
            "run the tests with `bash .ci/run`, which starts it",
            pytrace=False,
        )
    return engine


@pytest.fixture(scope="session")
def postgres_database():
    """A PostgreSQL database of this test session's own, dropped at the end; returns a factory."""
    admin = _postgres_admin()
    made: list[str] = []

    def make() -> str:
        name = f"ivr_test_{os.getpid()}_{uuid.uuid4().hex[:8]}"
        with admin.connect() as connection:
            connection.execute(text(f'CREATE DATABASE "{name}"'))
        made.append(name)
        return POSTGRES_ADMIN.rsplit("/", 1)[0] + f"/{name}"

    yield make
    with admin.connect() as connection:
        for name in made:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request, tmp_path, postgres_database) -> str:
    """An empty database on each engine the line supports."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'store.sqlite3'}"
    return postgres_database()


@pytest.fixture
def make_store():
    """Open Stores on any URL, closing their connections after the test."""
    opened: list[Store] = []

    def make(url: str, secret: str = "test-secret-key", upgrade: bool = True) -> Store:
        store = Store(url, secret)
        opened.append(store)
        if upgrade:
            migrate.upgrade(store.engine)
        return store

    yield make
    for store in opened:
        store.close()


@pytest.fixture
def store(db_url, make_store):
    """A migrated Store on each engine."""
    return make_store(db_url)


# Twilio's side ----------------------------------------------------------------


@pytest.fixture(scope="session")
def prism(tmp_path_factory):
    """Prism serving Twilio's API description, for every outbound REST call the tests make."""
    server = Prism(tmp_path_factory.mktemp("prism") / "prism.log")
    try:
        server.start()
    except RuntimeError as exc:
        pytest.fail(str(exc), pytrace=False)
    yield server
    server.stop()


@pytest.fixture
def console(make_app, db_url):
    """The app on each engine, with a counselor and an admin (tests/test_staff.py's accounts)."""
    from .test_staff import ADMIN, add_staff

    app = make_app(DATABASE_URL=db_url, IVR_STAFF_LOGINS_PER_MINUTE="1000")
    add_staff(app)
    add_staff(app, ADMIN, "admin")
    return app

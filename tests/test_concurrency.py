"""Several gunicorn workers and concurrent webhooks, on SQLite and PostgreSQL: no row lost."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from sqlalchemy import text

ROOT = Path(__file__).resolve().parent.parent


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _post(base: str, path: str, form: dict) -> int:
    data = urllib.parse.urlencode(form).encode()
    try:
        with urllib.request.urlopen(f"{base}{path}", data=data, timeout=30) as response:
            response.read()
            return response.status
    except urllib.error.HTTPError as exc:
        return exc.code


def _serve(settings: dict, url: str, tmp_path: Path) -> tuple[subprocess.Popen, str]:
    port = _port()
    env = {**os.environ, **settings, "DATABASE_URL": url}
    with (tmp_path / "gunicorn.log").open("w") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "--workers", "3", "--bind", f"127.0.0.1:{port}",
             "ivr:create_app()"],
            cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
        )  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    for _ in range(100):
        try:
            with urllib.request.urlopen(f"{base}/healthz", timeout=2):
                return process, base
        except OSError:
            time.sleep(0.2)
    process.terminate()
    raise AssertionError((tmp_path / "gunicorn.log").read_text())


def test_gunicorn_workers_lose_no_text_and_store_each_delivery_once(
    db_url, make_store, settings, tmp_path
):
    make_store(db_url)  # migrated
    process, base = _serve(settings, db_url, tmp_path)
    try:
        messages = [
            {"MessageSid": f"SM{n:032x}", "From": f"+1203555{n % 40:04d}", "To": "+12032450412",
             "Body": ["detox", "menu", "STOP", "LLAMAR", "metadona"][n % 5]}
            for n in range(120)
        ]  # fmt: skip
        deliveries = messages + messages[::3]  # Twilio retries some
        with ThreadPoolExecutor(max_workers=12) as pool:
            statuses = list(pool.map(lambda form: _post(base, "/sms", form), deliveries))
        calls = list(range(30))
        with ThreadPoolExecutor(max_workers=12) as pool:
            statuses += list(pool.map(
                lambda n: _post(base, "/voice", {"CallSid": f"CA{n:032x}", "From": "+12035550100"}),
                calls,
            ))  # fmt: skip
    finally:
        process.terminate()
        process.wait(timeout=20)
    assert statuses == [200] * len(statuses)
    store = make_store(db_url, upgrade=False)
    with store.engine.connect() as connection:
        count = lambda sql: connection.execute(text(sql)).scalar()  # noqa: E731
        assert count("SELECT count(*) FROM deliveries") == len(messages)
        assert count("SELECT count(*) FROM events WHERE channel = 'sms'") == len(messages)
        assert count("SELECT count(*) FROM events WHERE kind = 'call-started'") == len(calls)
        assert count("SELECT count(*) FROM requests WHERE kind = 'callback'") == 24
        assert count("SELECT count(*) FROM opt_outs") >= 1
    log = (tmp_path / "gunicorn.log").read_text()
    assert "database is locked" not in log and "event not stored" not in log, log[-2000:]

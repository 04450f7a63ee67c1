"""A fault drill: the app under gunicorn while its database fails mid-run, then comes back.

PostgreSQL is an instance of the test's own (initdb and pg_ctl in a temporary folder),
never the machine's shared server. SQLite is made unwritable with the immutable flag,
since permissions do not stop root.
"""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from ivr import migrate
from ivr.store import engine_for

from .server import Gunicorn, free_port


def _as_postgres(args: list[str]) -> list[str]:
    return ["runuser", "-u", "postgres", "--", *args] if os.geteuid() == 0 else args


class OwnPostgres:
    """A throw-away PostgreSQL server in a temporary folder."""

    def __init__(self):
        found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
        if not found:
            pytest.fail("PostgreSQL's initdb is not installed; run `bash .ci/setup`", pytrace=False)
        self.bin = Path(found[-1]).parent
        self.folder = Path(tempfile.mkdtemp(prefix="ivr-pg-"))
        self.folder.chmod(0o755)
        self.data = self.folder / "data"
        self.port = free_port()
        if os.geteuid() == 0:
            shutil.chown(self.folder, "postgres")
        subprocess.run(
            _as_postgres(
                [
                    str(self.bin / "initdb"),
                    "-D",
                    str(self.data),
                    "-U",
                    "postgres",
                    "--auth=trust",
                    "-E",
                    "UTF8",
                ]
            ),
            check=True,
            capture_output=True,
        )
        self.url = f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def _ctl(self, *args: str) -> None:
        options = f"-p {self.port} -k {self.folder} -c listen_addresses=127.0.0.1"
        subprocess.run(
            _as_postgres(
                [
                    str(self.bin / "pg_ctl"),
                    "-D",
                    str(self.data),
                    "-o",
                    options,
                    "-l",
                    str(self.folder / "log"),
                    "-w",
                    *args,
                ]
            ),
            check=True,
            capture_output=True,
        )

    def start(self) -> None:
        self._ctl("start")

    def stop(self) -> None:
        self._ctl("stop", "-m", "fast")

    def remove(self) -> None:
        try:
            self.stop()
        except subprocess.CalledProcessError:
            pass
        shutil.rmtree(self.folder, ignore_errors=True)


def walk(server: Gunicorn, n: int) -> None:
    """A call: the menu, a summary, then a counselor; each step must answer as usual."""
    form = {"CallSid": f"CA{n:032x}", "From": "+12035550123", "To": "+12032450412"}
    status, body = server.post("/voice", form)
    assert status == 200 and "hang up and dial 9 1 1" in body
    status, body = server.post("/voice/menu?l=en&m=main", {**form, "Digits": "2"})
    assert status == 200 and "When a person stops using heroin" in body
    status, body = server.post("/voice/summary?l=en&m=main&t=withdrawal", {**form, "Digits": "0"})
    assert status == 200 and "<Number" in body and "+12032450412</Number>" in body


def texted(server: Gunicorn, words: str, n: int, sender: str = "+12035550166") -> str:
    """A text from `sender`; the answer's TwiML."""
    form = {"MessageSid": f"SM{n:032x}", "From": sender, "To": "+12032450412", "Body": words}
    status, body = server.post("/sms", form)
    assert status == 200
    return body


def events(url: str, at_least: int = 0) -> int:
    """Events stored, once there are `at_least` (calls' events are written moments after the
    answer, by each worker), or after 5 s."""
    deadline = time.monotonic() + 5
    while (found := _events(url)) < at_least and time.monotonic() < deadline:
        time.sleep(0.05)
    return found


def logged(log: Path, words: str) -> None:
    """Wait until the server's log holds `words` (5 s at most)."""
    deadline = time.monotonic() + 5
    while words not in log.read_text(errors="replace") and time.monotonic() < deadline:
        time.sleep(0.05)


def _events(url: str) -> int:
    engine = create_engine(url.replace("postgresql://", "postgresql+psycopg://"))
    try:
        with engine.connect() as connection:
            return connection.execute(text("SELECT count(*) FROM events")).scalar()
    finally:
        engine.dispose()


def test_postgresql_stops_mid_run_and_comes_back(settings, tmp_path):
    postgres = OwnPostgres()
    try:
        postgres.start()
        engine = engine_for(postgres.url)
        migrate.upgrade(engine)
        engine.dispose()
        server = Gunicorn({**settings, "DATABASE_URL": postgres.url}, tmp_path / "g.log", workers=2)
        try:
            walk(server, 1)
            before = events(postgres.url, at_least=4)
            assert before >= 4
            postgres.stop()
            for n in range(2, 5):
                walk(server, n)  # menus, summaries and transfer go on without a database
            assert server.health()["database"] == "down"
            postgres.start()
            walk(server, 5)
            assert events(postgres.url, before + 4) >= before + 4  # writes resumed, no restart
            assert server.health()["database"] == "ok"
            # The server restarts while no request comes: each worker's pooled connections
            # die unseen. A read or a claimed write that meets one is tried again on a new
            # one: the first STOP is kept, and every text after it finds the opt-out.
            for n in range(2, 6):
                texted(server, "DETOX", n, sender="+12035550177")  # each worker connects
            postgres.stop()
            postgres.start()
            assert "You will get no more texts" in texted(server, "STOP", 1)
            postgres.stop()
            postgres.start()
            for n in range(6, 10):
                assert texted(server, "DETOX", n).endswith("<Response />"), n
        finally:
            server.stop()
        log = (tmp_path / "g.log").read_text()
        assert "event not stored" in log and "+12035550123" not in log and "5550123" not in log
    finally:
        postgres.remove()


def test_sqlite_becomes_unwritable_mid_run_and_comes_back(settings, tmp_path):
    path = tmp_path / "drill.sqlite3"
    url = f"sqlite:///{path}"
    engine = engine_for(url)
    migrate.upgrade(engine)
    engine.dispose()
    server = Gunicorn({**settings, "DATABASE_URL": url}, tmp_path / "g.log", workers=2)
    files = [str(p) for p in (path, Path(f"{path}-wal"), Path(f"{path}-shm")) if p.exists()]
    try:
        walk(server, 1)
        before = events(url, at_least=4)
        subprocess.run(["chattr", "+i", *files], check=True)
        try:
            for n in range(2, 4):
                walk(server, n)
            logged(tmp_path / "g.log", "event not stored")  # the writers tried, moments later
            assert events(url) == before  # nothing could be written
        finally:
            subprocess.run(["chattr", "-i", *files], check=True)
        walk(server, 4)
        assert events(url, at_least=before + 4) >= before + 4
    finally:
        server.stop()
    assert "event not stored" in (tmp_path / "g.log").read_text()

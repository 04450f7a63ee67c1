"""Several gunicorn workers and concurrent webhooks, on SQLite and PostgreSQL: no row lost."""

from __future__ import annotations

import os
import signal
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from sqlalchemy import text

from .server import Gunicorn

CALLER, OTHER = "+12035550123", "+12035550124"


def test_gunicorn_workers_lose_no_text_and_store_each_delivery_once(
    db_url, make_store, settings, tmp_path
):
    make_store(db_url)  # migrated
    server = Gunicorn({**settings, "DATABASE_URL": db_url}, tmp_path / "gunicorn.log")
    try:
        messages = [
            {
                "MessageSid": f"SM{n:032x}",
                "From": f"+1203555{n % 40:04d}",
                "To": "+12032450412",
                "Body": ["detox", "menu", "STOP", "LLAMAR", "metadona"][n % 5],
            }
            for n in range(120)
        ]
        deliveries = messages + messages[::3]  # Twilio retries some
        with ThreadPoolExecutor(max_workers=12) as pool:
            statuses = list(pool.map(lambda form: server.post("/sms", form)[0], deliveries))
        calls = list(range(30))

        def call(n: int) -> int:
            return server.post("/voice", {"CallSid": f"CA{n:032x}", "From": "+12035550100"})[0]

        with ThreadPoolExecutor(max_workers=12) as pool:
            statuses += list(pool.map(call, calls))
    finally:
        server.stop()
    assert statuses == [200] * len(statuses)
    store = make_store(db_url, upgrade=False)
    with store.engine.connect() as connection:
        count = lambda sql: connection.execute(text(sql)).scalar()  # noqa: E731
        assert count("SELECT count(*) FROM deliveries") == len(messages)
        assert count("SELECT count(*) FROM events WHERE channel = 'sms'") == len(messages)
        assert count("SELECT count(*) FROM events WHERE kind = 'call-started'") == len(calls)
        assert count("SELECT count(*) FROM requests WHERE kind = 'callback'") == 24
        assert count("SELECT count(*) FROM opt_outs") == 8  # STOP from 8 different numbers
    log = (tmp_path / "gunicorn.log").read_text()
    assert "database is locked" not in log and "event not stored" not in log, log[-2000:]


def _kill_all(server: Gunicorn) -> None:
    """SIGKILL the master and every worker at once: no clean shutdown, no flush."""
    master = server.process.pid
    children = Path(f"/proc/{master}/task/{master}/children").read_text().split()
    for pid in [master, *map(int, children)]:
        os.kill(pid, signal.SIGKILL)
    server.process.wait(timeout=10)


def test_a_killed_worker_loses_nothing_it_confirmed(db_url, make_store, settings, tmp_path):
    """Each reply is sent after its writes commit: kill every process the moment the reply
    arrives, and the opt-out, the call-back request and the voicemail are all there."""
    make_store(db_url)
    server = Gunicorn({**settings, "DATABASE_URL": db_url}, tmp_path / "g.log", workers=2)
    try:
        said = [
            server.post("/sms", {"MessageSid": "SM" + "1" * 32, "From": CALLER, "Body": "STOP"}),
            server.post("/sms", {"MessageSid": "SM" + "2" * 32, "From": OTHER, "Body": "CALL"}),
            server.post(
                "/voice/recorded?l=en&m=main",
                {
                    "CallSid": "CA" + "3" * 32,
                    "From": OTHER,
                    "RecordingUrl": "https://api.twilio.com/2010-04-01/Recordings/RE3",
                    "RecordingDuration": "12",
                    "RecordingSid": "RE" + "3" * 32,
                },
            ),
        ]
        _kill_all(server)
    finally:
        if server.process.poll() is None:
            server.stop()
    assert [status for status, _ in said] == [200, 200, 200]
    assert "You will get no more texts" in said[0][1]
    assert "A counselor will call you" in said[1][1]
    assert "Your message is saved" in said[2][1]
    store = make_store(db_url, upgrade=False)
    assert store.is_opted_out(CALLER)
    assert sorted(r.kind for r in store.waiting()) == ["callback", "voicemail"]


def test_a_clean_stop_writes_every_call_event_it_had_queued(db_url, make_store, settings, tmp_path):
    """Calls' events are written moments after each answer; stopping gunicorn as a platform
    does (SIGTERM) right after a burst of calls still stores every one of them."""
    make_store(db_url)
    server = Gunicorn({**settings, "DATABASE_URL": db_url}, tmp_path / "g.log", workers=2)
    try:
        for n in range(40):
            form = {"CallSid": f"CA{n:032x}", "From": f"+1203555{n:04d}", "To": "+12032450412"}
            assert server.post("/voice", form)[0] == 200
    finally:
        server.stop()  # SIGTERM: each worker finishes, then writes what it queued, then exits
    assert make_store(db_url, upgrade=False).count("call-started") == 40

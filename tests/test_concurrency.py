"""Several gunicorn workers and concurrent webhooks, on SQLite and PostgreSQL: no row lost."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from sqlalchemy import text

from .server import Gunicorn


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

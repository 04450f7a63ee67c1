"""Connections to the line's database: SQLite tuned for several writers, or PostgreSQL."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from sqlalchemy import Engine, create_engine, event

if TYPE_CHECKING:
    import sqlite3

log = logging.getLogger(__name__)
WAIT_MS = 5000  # the longest a statement may wait for a lock or run


def engine_for(url: str) -> Engine:
    """An engine for DATABASE_URL: SQLite tuned for several writers, or PostgreSQL via psycopg 3."""
    if url.startswith(("postgres://", "postgresql://")):
        url = "postgresql+psycopg://" + url.split("://", 1)[1]
    if url.startswith("sqlite"):
        # Pooled: opening a connection, setting its pragmas and closing it (which checkpoints
        # the log) cost more than a webhook's own work. A few connections per worker.
        engine = create_engine(url, connect_args={"timeout": 5}, pool_size=4, max_overflow=4)
        event.listen(engine, "connect", _sqlite_connect)
        event.listen(engine, "begin", _sqlite_begin)
        return engine
    # Short limits: a slow database must not hold a webhook near Twilio's 15 seconds.
    # Pooled, checked before use, so a restarted server costs one failed request at most.
    limits = {"connect_timeout": 3, "options": f"-c statement_timeout={WAIT_MS}"}
    return create_engine(url, pool_pre_ping=True, pool_size=4, max_overflow=4, connect_args=limits)


READING = "ivr_reading"  # an execution option: a transaction that only reads


def _sqlite_begin(conn: Any) -> None:
    # Every transaction that may write begins IMMEDIATE: a deferred transaction that
    # later writes is what fails with "database is locked" under several gunicorn
    # workers. One that only reads begins deferred, and never waits for a writer (WAL).
    reading = conn.get_execution_options().get(READING, False)
    conn.exec_driver_sql("BEGIN" if reading else "BEGIN IMMEDIATE")


# WAL: readers never wait for the writer, and a commit appends to the log instead of
# rewriting pages. synchronous=FULL: each commit is flushed to disk before the reply, so an
# opt-out, a voicemail or a call-back the line confirmed survives a power cut, not only a
# killed worker (NORMAL would keep it only until the next checkpoint). One flush per
# webhook, now that each webhook writes in one transaction.
SQLITE_PRAGMAS = ("journal_mode=WAL", f"busy_timeout={WAIT_MS}", "synchronous=FULL")


def _sqlite_connect(dbapi_connection: sqlite3.Connection, _record: object) -> None:
    # Take the transaction into our own hands (see _sqlite_begin).
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    for pragma in SQLITE_PRAGMAS:
        try:
            cursor.execute(f"PRAGMA {pragma}")
        except Exception:  # a read-only file still serves reads
            log.warning("SQLite refused PRAGMA %s", pragma)
    cursor.close()

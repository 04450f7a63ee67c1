"""Connections to the line's database: SQLite tuned for several writers, or PostgreSQL."""

from __future__ import annotations

import logging
import os
import sqlite3
from typing import Any

from sqlalchemy import Engine, create_engine, event

from .writers import TURN, give_turn, lock_file, take_turn

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
        event.listen(engine, "checkin", _sqlite_checkin)
        event.listen(engine, "close", _sqlite_close)
        return engine
    return _postgres(url, durable=True)


def _postgres(url: str, durable: bool) -> Engine:
    """A pool of PostgreSQL connections whose commits wait for the disk, or do not."""
    # Short limits: a slow database must not hold a webhook near Twilio's 15 seconds.
    # Pooled and not pinged before each use (a ping is a round trip, as dear as a webhook's
    # own statement): after a server restart, the first use of a pooled connection meets a
    # dead one. A read, a text's claimed write and the health check then try again on a
    # new connection (store_base._again_if_dropped); any other write fails (answered as
    # when the database is down), and the pool's connections are dropped, so each worker
    # loses one such request per pool at most. The writer thread's batches try again anyway.
    # synchronous_commit is set when a connection is made, so no transaction spends a round
    # trip setting it (see light).
    flush = "on" if durable else "off"
    options = f"-c statement_timeout={WAIT_MS} -c synchronous_commit={flush}"
    limits = {"connect_timeout": 3, "options": options}
    return create_engine(url, pool_size=4, max_overflow=4, connect_args=limits)


def light(engine: Engine) -> Engine:
    """The engine for LIGHT transactions. On SQLite, the same pool (such a transaction sets
    synchronous=NORMAL for itself, without a round trip); on PostgreSQL, a pool of its own
    whose connections are made with synchronous_commit=off, while the main pool's wait for
    the disk: setting it per transaction (SET LOCAL) cost a round trip on every opt-out."""
    if engine.dialect.name == "postgresql":
        engine = _postgres(engine.url.render_as_string(hide_password=False), durable=False)
    return engine.execution_options(**{LIGHT: True})


def at_once(engine: Engine) -> Engine | None:
    """On PostgreSQL, the main pool with every statement its own transaction (autocommit), for
    a write done in one statement: the server commits it, waiting for the disk, in the same
    round trip (BEGIN and COMMIT cost one each). None on SQLite, which has no statement that
    inserts into several tables."""
    if engine.dialect.name != "postgresql":
        return None
    return engine.execution_options(isolation_level="AUTOCOMMIT")


READING = "ivr_reading"  # an execution option: a transaction that only reads
# An execution option: a transaction whose rows the line can do without after a power cut
# or an operating-system crash (the writer thread's batches of analytics events and keyword
# texts' claims, see eventlog.py). Once committed it survives a restart: only the flush to
# the disk is left to the database's next one. What a caller was promised (an opt-out, a
# call-back request, a voicemail, a crisis entry) and every staff change are written without
# it, and committed before the reply.
LIGHT = "ivr_light"


def _sqlite_begin(conn: Any) -> None:
    # Every transaction that may write begins IMMEDIATE: a deferred transaction that
    # later writes is what fails with "database is locked" under several gunicorn
    # workers. One that only reads begins deferred, and never waits for a writer (WAL).
    options = conn.get_execution_options()
    # On the driver's connection: through SQLAlchemy, BEGIN cost more than a webhook's insert.
    driver = conn.connection.driver_connection
    if options.get(READING, False):
        driver.execute("BEGIN")
        return
    # synchronous is the connection's: set it for this transaction when it differs.
    synchronous = "NORMAL" if options.get(LIGHT, False) else "FULL"
    if conn.info.get("synchronous") != synchronous:
        driver.execute(f"PRAGMA synchronous={synchronous}")
        conn.info["synchronous"] = synchronous
    take_turn(conn.info, WAIT_MS / 1000)  # see writers.py; given back at check-in
    driver.execute("BEGIN IMMEDIATE")


def _sqlite_checkin(_dbapi_connection: object, record: Any) -> None:
    if record is not None:
        give_turn(record.info)  # its transaction is over


def _sqlite_close(_dbapi_connection: object, record: Any) -> None:
    if record is not None and TURN in record.info:
        give_turn(record.info)
        os.close(record.info.pop(TURN))


# WAL: readers never wait for the writer, and a commit appends to the log instead of
# rewriting pages. synchronous=FULL: each commit is flushed to disk before the reply, so an
# opt-out, a voicemail or a call-back the line confirmed survives a power cut, not only a
# killed worker (NORMAL would keep it only until the next checkpoint). A LIGHT transaction
# (analytics, a keyword text's claim) runs with NORMAL: in WAL mode it is still atomic and
# survives a killed worker, and the next FULL commit or checkpoint flushes it with the rest.
SQLITE_PRAGMAS = ("journal_mode=WAL", f"busy_timeout={WAIT_MS}", "synchronous=FULL")


def _sqlite_connect(dbapi_connection: sqlite3.Connection, record: Any) -> None:
    # Take the transaction into our own hands (see _sqlite_begin).
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    # SQLite opens a file it may not write read-only, without a word; while such a connection
    # is open, the process's other connections refuse writes too, even once the file can be
    # written again (the fault drill saw a worker lose every write after a read-only spell).
    # So a connection to a file that cannot be written is not made: the request fails now
    # (StoreError, answered as usual), and the next one connects afresh.
    path = cursor.execute("PRAGMA database_list").fetchone()[2]
    if path and os.path.exists(path) and not os.access(path, os.W_OK):
        cursor.close()
        dbapi_connection.close()
        raise _not_writable(path)
    # A pragma refused (WAL in a folder it cannot write) fails the connection, as the file
    # itself does above: the line answers as when the database is down, and tries again.
    for pragma in SQLITE_PRAGMAS:
        cursor.execute(f"PRAGMA {pragma}")
    cursor.close()
    if path:
        if (descriptor := lock_file(path)) is not None:
            record.info[TURN] = descriptor
        else:  # writers wait as SQLite makes them
            log.warning("no writers' lock file beside the database; SQLite's own wait is used")


def _not_writable(path: str) -> sqlite3.OperationalError:
    """The driver's own error for a database file this process may not write."""
    return sqlite3.OperationalError(f"unable to write the database file {os.path.basename(path)}")

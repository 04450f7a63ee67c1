"""What every part of the store shares: the transaction, the keyed hashes, claims and events."""

from __future__ import annotations

import hashlib
import hmac
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, fields
from datetime import datetime
from functools import cache
from typing import Any, TypeVar, cast

from sqlalchemy import (
    Connection,
    CursorResult,
    Dialect,
    Engine,
    Insert,
    Result,
    delete,
    insert,
    select,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from .eventlog import IN_ORDER_WAIT, Later
from .oncall import OnCall
from .prepared import Prepared
from .privacy import caller_hash, last_four
from .tables import AuditEntry, Base, CallBack, Delivery, Event, LineState, Request

ENTRY = "{entry}"  # in a staff alert's words: the id of the entry it is about, filled in here
DRIVER_FAULTS = (OverflowError, ValueError)  # raised by drivers for values they cannot bind
T = TypeVar("T")


# The kinds of database error the DB-API names (PEP 249): a driver's own subclass
# (psycopg's StringDataRightTruncation) is named by its kind, as SQLAlchemy names it.
DBAPI_KINDS = (
    "IntegrityError",
    "DataError",
    "OperationalError",
    "ProgrammingError",
    "NotSupportedError",
    "InternalError",
    "InterfaceError",
    "DatabaseError",
)


def _fault(exc: BaseException) -> str:
    """What went wrong, in the same words on both engines and both paths (through
    SQLAlchemy, or a prepared statement on the driver's cursor)."""
    for kind in type(exc).__mro__:
        if kind.__name__ in DBAPI_KINDS:
            return kind.__name__
    return type(exc).__name__


class StoreError(Exception):
    """The database could not do what was asked (down, locked, read-only)."""


@dataclass(frozen=True)
class Note:
    """One event to keep: what happened. The number and the words are hashed on the way in."""

    channel: str
    kind: str
    language: str | None = None
    topic: str | None = None
    detail: str | None = None
    said: str | None = None  # the normalised words, kept only as a keyed hash


def _changed(result: Result[Any]) -> int:
    """The rows an UPDATE or DELETE changed: its result is a CursorResult, typed as a Result."""
    return cast(CursorResult[Any], result).rowcount


def _audit(
    at: datetime, who: str, what: str, request_id: int | None = None, note: str | None = None
) -> AuditEntry:
    """One audit entry, each field cut to its column."""
    return AuditEntry(
        at=at, who=who[:80], what=what[:24], request_id=request_id, note=note and note[:200]
    )


class StoreBase:
    """The connection and the steps the other parts of the Store share (see ivr.store)."""

    engine: Engine
    later: Later[Note]  # analytics written after answers
    _reader: Engine
    _light: Engine
    _autocommit_reads: bool  # _read: PostgreSQL's connections switched to autocommit
    _at_once: Engine | None
    _secret: str
    _lock: threading.Lock
    _failed_writes: int
    _state_kept: tuple[float, OnCall] | None = None  # (when read, the line state): see line_state

    @contextmanager
    def session(self, reading: bool = False, light: bool = False) -> Iterator[Session]:
        """A transaction that commits on success; any fault becomes StoreError (`_faults`).

        `reading`: the transaction only reads (on SQLite it then waits for no writer).
        `light`: it writes only what the line can do without after a power cut (engine.LIGHT).
        """
        bind = self._reader if reading else self._light if light else self.engine
        with self._faults(), Session(bind, expire_on_commit=False) as session, session.begin():
            yield session

    @contextmanager
    def writing(self, light: bool = False) -> Iterator[Connection]:
        """A transaction on a plain connection, for a webhook's one write of plain rows (no ORM
        session to set up and flush: on the text path it cost more than the statements).
        Commits on success; faults become StoreError."""
        with self._faults(), (self._light if light else self.engine).begin() as connection:
            yield connection

    def _again_if_dropped(self, work: Callable[[], T]) -> T:
        """Run `work`, which must be safe to repeat. Pooled connections are not pinged before
        use (a ping is a round trip), so after a server restart the first use of each meets
        a dead one; when `work` did, the pool's connections are thrown away (the others were
        made before the restart too) and it runs once more on new ones."""
        try:
            return work()
        except StoreError as exc:
            # SQLAlchemy marks such a fault, and so does a Prepared statement's (prepared.py)
            if not getattr(exc.__cause__, "connection_invalidated", False):
                raise
            self.engine.dispose()
            return work()

    def _read(self, statement: Prepared, values: Mapping[str, Any]) -> tuple[Any, ...] | None:
        """Run the small read every webhook makes (a Prepared statement) on a pooled driver
        connection of the main pool, outside any transaction: no ORM session and no
        SQLAlchemy Connection around it (their set-up and tear-down cost more than the read).
        On SQLite each statement reads on its own already (engine.py begins transactions);
        on PostgreSQL the connection is in autocommit for the read (psycopg sets it on the
        client, without a round trip), so no BEGIN, and no ROLLBACK when it goes back to the
        pool. Its first row. A read changes nothing, so one that meets a connection the
        server dropped is tried again (the first text after a restart must still see an
        opt-out). Faults become StoreError.
        """
        return self._again_if_dropped(lambda: self._read_once(statement, values))

    def _read_once(self, statement: Prepared, values: Mapping[str, Any]) -> tuple[Any, ...] | None:
        with self._faults():
            connection = self.engine.raw_connection()
            driver: Any = connection.driver_connection  # psycopg's or sqlite3's
            try:
                if self._autocommit_reads:
                    driver.autocommit = True
                return statement.run(connection, values)
            finally:
                if self._autocommit_reads and not (driver.closed or driver.broken):
                    driver.autocommit = False  # as the pool's other users expect
                connection.close()  # back to the pool

    @contextmanager
    def one_statement(self) -> Iterator[Connection]:
        """A connection on which each statement is its own transaction (engine.at_once: on
        PostgreSQL only); faults become StoreError."""
        assert self._at_once is not None
        with self._faults(), self._at_once.connect() as connection:
            yield connection

    @contextmanager
    def _faults(self) -> Iterator[None]:
        """Any database or driver fault inside becomes StoreError, named by its kind.

        SQLAlchemy wraps what the driver calls its errors, but not everything a driver
        raises: SQLite's OverflowError for an integer past 64 bits, or a UnicodeEncodeError
        for a lone surrogate. The same input must fail the same way on both engines.
        """
        try:
            yield
        except (SQLAlchemyError, self.engine.dialect.loaded_dbapi.Error, *DRIVER_FAULTS) as exc:
            raise StoreError(_fault(exc)) from exc

    def _in_order(self, number: str | None) -> None:
        """Before a number's events or text are read or written now: write what this process
        queued for it first (eventlog.py), so its events are kept, and read, in the order
        they happened (its last language is the last, its last minute's replies all count).
        A writer stuck behind a locked database holds a request IN_ORDER_WAIT at most."""
        if number and self.later.waiting_for(number):
            self.later.flush(IN_ORDER_WAIT)

    def caller(self, number: str | None) -> str | None:
        """The keyed hash that stands for a number in events."""
        return caller_hash(self._secret, number) if number else None

    def said(self, number: str | None, words: str | None) -> str | None:
        """The keyed hash that stands for what a number wrote (already normalised), never the words.

        The number is part of the hashed text, so the same words from two numbers never match.
        """
        if words is None:
            return None
        message = f"said\0{number or ''}\0{words}".encode()
        return hmac.new(self._secret.encode(), message, hashlib.sha256).hexdigest()[:32]

    def _insert(self, s: Session | Connection, table: type[Base], **values: object) -> bool:
        """Insert unless the primary key exists; True when this call inserted it."""
        # On the session's connection, compiled once (see prepared.py): a Core statement run
        # through the Session takes the ORM's bulk-insert path, which costs more still.
        statement = _insert_once(self.engine.dialect, table, tuple(sorted(values)))
        return statement.run(_plain(s), values) is not None

    def _claim(
        self,
        s: Session | Connection,
        key: str,
        at: datetime,
        reply: str | None = None,
        unsent: str | None = None,
    ) -> bool:
        return self._insert(s, Delivery, key=key[:120], at=at, reply=reply, unsent=unsent)

    def _events(
        self, s: Session | Connection, at: datetime, number: str | None, notes: Sequence[Note]
    ) -> None:
        """Insert one request's events."""
        self._insert_events(s, self._event_rows(at, number, notes))

    @staticmethod
    def _insert_events(s: Session | Connection, rows: list[dict[str, object]]) -> None:
        """Insert events as plain rows in one statement (no ORM bookkeeping: they are written,
        never read back)."""
        if rows:
            connection = _plain(s)
            _insert_events(connection.dialect).run_many(connection, rows)

    def _event_rows(
        self, at: datetime, number: str | None, notes: Sequence[Note]
    ) -> list[dict[str, object]]:
        """Events as the rows the events table keeps: the number and the words as keyed hashes."""
        caller = self.caller(number)
        return [
            {
                "at": at,
                "channel": note.channel,
                "kind": note.kind,
                "caller": caller,
                "language": note.language,
                "topic": note.topic,
                "detail": note.detail and note.detail[:80],
                "said": self.said(number, note.said),
            }
            for note in notes
        ]

    # Shared by the waiting list and by texts: a new entry, and the missed calls it closes.

    @staticmethod
    def _added(s: Session, row: Request) -> int:
        s.add(row)
        s.flush()
        return row.id

    @staticmethod
    def _request(c: Connection, **values: object) -> int:
        """A new waiting-list entry as a plain row; its id."""
        return int(c.execute(_INSERT_REQUEST, values).scalar_one())

    def _close_missed(self, s: Session | Connection, number: str, at: datetime, note: str) -> None:
        """This number's waiting missed calls give way to its new entry: one person, one entry.

        One no one has tried to call back is dropped (the new entry is the same person,
        waiting since a moment later); one someone called back is marked handled by the
        line, saying what followed, so that call-back stays on record.
        """
        missed = select(Request.id).where(
            Request.kind == "missed-call",
            Request.number == number,
            Request.handled_at.is_(None),
        )
        tried = select(CallBack.request_id)
        s.execute(delete(Request).where(Request.id.in_(missed), Request.id.not_in(tried)))
        s.execute(
            update(Request)
            .where(Request.id.in_(missed))
            .values(handled_by="the line", handled_at=at, handled_note=note[:200])
        )


# Statements the webhooks run on every request, built once (their values are bound at run time):
# building a SQLAlchemy statement costs more than running it.


@cache
def _insert_once(dialect: Dialect, table: type[Base], names: tuple[str, ...]) -> Prepared:
    """`_inserted` compiled for one engine and these value names."""
    return Prepared(_inserted(dialect, table), dialect, names)


@cache
def _inserted(dialect: Dialect, table: type[Base]) -> Insert:
    """INSERT ... ON CONFLICT DO NOTHING RETURNING the key, for one table on one engine: the
    keys returned are those this statement inserted."""
    insert_for = postgresql.insert if dialect.name == "postgresql" else sqlite.insert
    return insert_for(table).on_conflict_do_nothing().returning(table.__mapper__.primary_key[0])


EVENT_COLUMNS = ("at", "channel", "kind", "caller", "language", "topic", "detail", "said")


@cache
def _insert_events(dialect: Dialect) -> Prepared:
    """INSERT INTO events, for rows of EVENT_COLUMNS."""
    return Prepared(insert(Event), dialect, EVENT_COLUMNS)


def _masked(number: str | None) -> str:
    """A staff number as the audit list shows it: its last 4 digits."""
    return f"ending in {last_four(number)}" if number else "none"


# The console's line state, column by column in OnCall's order: read by every call step and
# text (a text's read takes them in the same statement as the rest, store_texts).
ON_CALL_COLUMNS = tuple(LineState.__table__.c[f.name] for f in fields(OnCall))


def _line_state(s: Session | Connection) -> OnCall:
    """The console's on-call numbers and open/close override, inside a transaction."""
    return _on_call(s.execute(_STATE).first())


_STATE = select(*ON_CALL_COLUMNS).where(LineState.id == 1)
_INSERT_REQUEST = insert(Request).returning(Request.id)


@cache
def _line_state_once(dialect: Dialect) -> Prepared:
    """The line state's read, compiled for one engine (store_line.line_state)."""
    return Prepared(_STATE, dialect)


def _plain(s: Session | Connection) -> Connection:
    """The connection under a session, or the connection itself."""
    return s.connection() if isinstance(s, Session) else s


def _on_call(row: Any) -> OnCall:
    """The stored row (a LineState, or a row of ON_CALL_COLUMNS) as a value the core takes."""
    if row is None:
        return OnCall()
    return OnCall(*(getattr(row, column.name) for column in ON_CALL_COLUMNS))

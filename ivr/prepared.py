"""The statements webhooks run most, compiled once and run on the driver's cursor: a text's
read, the claims, opt-outs and events they write.

SQLAlchemy builds each statement's cache key, finds its compiled form and wraps the driver's
result on every execution: for these statements that cost several times what the database spent
running the statements (an insert: about 36 microseconds through SQLAlchemy, 7 on the
driver). A `Prepared` statement is compiled once per engine by SQLAlchemy itself, with the
same SQL, bind conversions (UTCDateTime's UTC) and result conversions, and each run is one
`cursor.execute` inside the transaction SQLAlchemy opened (so begin, commit, rollback, the
pool and the StoreError wrapping in store_base are unchanged).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from sqlalchemy import Connection, Dialect, PoolProxiedConnection
from sqlalchemy.exc import DBAPIError, StatementError
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.elements import ClauseElement

Processor = Callable[[Any], Any]
CURSOR = "ivr_cursor"  # a pooled connection's info: its kept cursor (PostgreSQL)


class Prepared:
    """One statement, compiled for one dialect with the value names it is run with."""

    def __init__(
        self, statement: ClauseElement, dialect: Dialect, names: Sequence[str] | None = None
    ) -> None:
        compiled = statement.compile(dialect=dialect, column_keys=names)
        self._dialect = dialect
        self._driver_error: type[Exception] = dialect.loaded_dbapi.Error
        assert isinstance(compiled, SQLCompiler)
        self.sql = str(compiled)
        order = compiled.positiontup if compiled.positional else None
        self._positional = order is not None
        self._names = tuple(order) if order is not None else tuple(compiled.binds)
        # The statement's own values (the 'sms' of channel = 'sms'), and each value's conversion
        self._fixed = {
            name: bind.effective_value
            for name, bind in compiled.binds.items()
            if not bind.required and name not in (names or ())
        }
        self._convert: dict[str, Processor] = {}
        for name, bind in compiled.binds.items():
            if (process := bind.type.dialect_impl(dialect).bind_processor(dialect)) is not None:
                self._convert[name] = process
        columns = getattr(statement, "exported_columns", ())  # selected, or returned
        self._results: tuple[Processor | None, ...] = tuple(
            column.type.dialect_impl(dialect).result_processor(dialect, None) for column in columns
        )
        # Whether it returns rows, known now: asking the cursor builds its description each time.
        self._returns = bool(self._results)
        self._keep_cursor = dialect.name == "postgresql"

    @staticmethod
    def _kept_cursor(pooled: PoolProxiedConnection) -> Any:
        """The driver connection's own cursor, made once and kept with it (psycopg only).

        Making a psycopg cursor cost about 25 microseconds, a third of running a text's read
        on it. A psycopg cursor holds nothing on the server once its result is fetched (the
        whole result comes back at once), so it can serve the connection's next statement.
        SQLite's cursors are not kept: one left on a statement it has not stepped to the end
        would keep the connection's read transaction open, and later reads on its old
        snapshot. Kept in the pool's info for the connection, checked to be that
        connection's: the pool replaces a connection it invalidates.
        """
        driver: Any = pooled.driver_connection
        cursor = pooled.info.get(CURSOR)
        if cursor is None or cursor.connection is not driver or cursor.closed:
            cursor = pooled.info[CURSOR] = driver.cursor()
        return cursor

    def _parameters(self, values: Mapping[str, Any]) -> Any:
        """The values as the driver takes them: converted, in order (qmark) or by name."""
        found = {**self._fixed, **values} if self._fixed else values
        # Each value converted once, though a positional statement may use it several times
        # (a text's read compares three times with six times).
        ready = {
            name: process(found[name]) for name, process in self._convert.items() if name in found
        }
        if self._positional:
            return tuple(ready[name] if name in ready else found[name] for name in self._names)
        return {name: ready[name] if name in ready else found[name] for name in self._names}

    def run(
        self, connection: Connection | PoolProxiedConnection, values: Mapping[str, Any]
    ) -> tuple[Any, ...] | None:
        """Run it once, inside the connection's transaction or on a pooled driver connection
        (store_base._read); the first row it returns (converted), or None. A driver's fault
        is raised as SQLAlchemy raises its own (`_as_sqlalchemy`)."""
        pooled = connection.connection if isinstance(connection, Connection) else connection
        cursor = self._kept_cursor(pooled) if self._keep_cursor else pooled.cursor()
        try:
            cursor.execute(self.sql, self._parameters(values))
            row = cursor.fetchone() if self._returns else None
        except self._driver_error as exc:
            raise self._as_sqlalchemy(exc, connection, pooled, cursor) from exc
        finally:
            if not self._keep_cursor:
                cursor.close()
        if row is None:
            return None
        return tuple(
            value if process is None else process(value)
            for process, value in zip(self._results, row, strict=False)
        )

    def run_many(self, connection: Connection, rows: Sequence[Mapping[str, Any]]) -> None:
        """Run it once for each of `rows` (an insert of many rows), returning nothing."""
        cursor = connection.connection.cursor()
        try:
            cursor.executemany(self.sql, [self._parameters(row) for row in rows])
        except self._driver_error as exc:
            raise self._as_sqlalchemy(exc, connection, connection.connection, cursor) from exc
        finally:
            cursor.close()

    def _as_sqlalchemy(
        self,
        exc: Any,  # the driver's Error
        connection: Connection | PoolProxiedConnection,
        pooled: PoolProxiedConnection,
        cursor: Any,
    ) -> StatementError:
        """A driver's fault as SQLAlchemy raises its own, so every path fails alike: wrapped in
        its DB-API kind (OperationalError, IntegrityError, ...); when the server had dropped
        the connection (a restart), that connection invalidated and the fault marked
        `connection_invalidated`, for the store to throw the pool's others away and try
        once more where that is safe."""
        dropped = self._dialect.is_disconnect(exc, pooled.dbapi_connection, cursor)
        if dropped:
            connection.invalidate(exc)
        wrapped: StatementError = DBAPIError.instance(
            self.sql,
            None,
            exc,
            self._driver_error,
            connection_invalidated=dropped,
            dialect=self._dialect,
        )
        return wrapped

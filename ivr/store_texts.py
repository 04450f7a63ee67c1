"""One text: opt-outs, what the line knows of a texter, and everything one text stores."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cache
from typing import Any, Literal

from sqlalchemy import (
    BindParameter,
    Connection,
    Dialect,
    Select,
    bindparam,
    delete,
    exists,
    func,
    insert,
    select,
    update,
)
from sqlalchemy.dialects import postgresql

from .oncall import OnCall
from .prepared import Prepared
from .store_base import (
    ENTRY,
    EVENT_COLUMNS,
    ON_CALL_COLUMNS,
    Note,
    StoreBase,
    _changed,
)
from .tables import Base, Delivery, Event, LineState, OptOut, Request

Keep = Literal["opt-out", "opt-in", "callback", "crisis", "crisis-opt-out"]


@dataclass(frozen=True)
class Recalled:
    """What the line knew of a number when its text arrived, read in one statement."""

    reply: str | None = None  # the reply this delivery already got: it is a retry
    opted_out: bool = False
    language: str | None = None  # the language of its last text
    replies: int = 0  # replies in the last minute
    notices: int = 0  # "please wait" notices in the last minute
    repeats: int = 0  # replies to these same words in the repeat window
    state: OnCall | None = None  # the console's on-call and open/close (None: not readable)


class TextStore(StoreBase):
    """Opt-outs, and each text recalled then kept, each in one transaction."""

    # Opt-outs ---------------------------------------------------------------

    def opt_out(
        self,
        number: str,
        words: str,
        at: datetime,
        once: str | None = None,
        reply: str | None = None,
    ) -> bool | None:
        """Record that `number` wants no texts; True if it was not opted out before.

        With `once`, a delivery key, the delivery is claimed with its `reply` in the same
        transaction; None when it was claimed before. The opt-out is stored either way, so
        no delivery can confirm it without it being kept.
        """
        with self.session() as s:
            first = self._claim(s, once, at, reply) if once else True
            added = self._insert(s, OptOut, number=number, at=at, words=words[:40])
            return added if first else None

    def opt_in(
        self,
        number: str,
        once: str | None = None,
        at: datetime | None = None,
        reply: str | None = None,
    ) -> bool | None:
        """Let `number` get texts again; True if it had opted out.

        With `once` (and `at`), claimed with its `reply` as for opt_out; None when claimed before.
        """
        with self.session() as s:
            first = self._claim(s, once, at or datetime.now(UTC), reply) if once else True
            removed = _changed(s.execute(delete(OptOut).where(OptOut.number == number))) > 0
            return removed if first else None

    def is_opted_out(self, number: str) -> bool:
        """True when `number` asked for no texts."""
        with self.session(reading=True) as s:
            return s.get(OptOut, number) is not None

    # One text: what is known, then everything it stores, each in one transaction ----------

    def recall_text(
        self, key: str, number: str, said: str, minute_ago: datetime, window_start: datetime
    ) -> Recalled:
        """What the line knows of `number` as its text (`key`, these `said` words) arrives:
        one query, one round trip."""
        values = {
            "key": key[:120],
            "number": number,
            "caller": self.caller(number),
            "said": self.said(number, said),
            "minute_ago": minute_ago,
            "window_start": window_start,
            "since": min(minute_ago, window_start),
        }
        self._in_order(number)  # this number's last text may still be queued here: read it too
        found = self._read(_recall_text(self.engine.dialect), values)
        assert found is not None  # a SELECT of scalar subqueries returns one row
        reply, opted_out, language, replies, notices, repeats = found[:6]
        state = OnCall(*found[6:])  # the line as the console set it, read fresh with the rest
        if key and reply is not None:
            return Recalled(reply=reply, state=state)
        return Recalled(None, bool(opted_out), language, replies, notices, repeats, state)

    def keep_text(
        self,
        at: datetime,
        key: str,
        number: str,
        note: Note,
        reply: str | None = None,
        keep: Keep | None = None,
        words: str = "",
        unsent: str | None = None,
    ) -> bool:
        """Everything one text stores, in one transaction: the delivery claimed with its reply
        and the staff alert it owes, the opt-out, opt-in or call-back request it asked for,
        and its event. False (and nothing stored) when the delivery was claimed before.
        A text that asks for nothing to be kept (a keyword, a question) and owes no staff
        alert is queued instead, its claim and event written with the next batch (eventlog.py):
        lost to a killed worker, they cost at most a second answer to a retry. True then.

        A write that meets a connection the server dropped (a restart) is tried once more on
        a new one when the delivery key makes that safe: had the first try been committed
        after all, the second finds the delivery claimed and returns False, as for Twilio's
        own retry. So the first STOP after a restart is kept, not answered "text STOP again".
        """
        if keep is None and not unsent:
            self.later.add(at, number or None, [note], (key, reply) if key else None)
            return True
        self._in_order(number)

        def write() -> bool:
            return self._keep_now(at, key, number, note, reply, keep, words, unsent)

        return self._again_if_dropped(write) if key else write()

    def _keep_now(
        self,
        at: datetime,
        key: str,
        number: str,
        note: Note,
        reply: str | None,
        keep: Keep | None,
        words: str,
        unsent: str | None,
    ) -> bool:
        """keep_text's write, in one transaction (or one statement)."""
        if keep == "opt-out" and key and not unsent and self._at_once is not None:
            return self._opt_out_at_once(at, key, number, note, reply, words)
        with self.writing() as s:
            if key and not self._claim(s, key, at, reply):
                return False
            entry: int | None = None
            if keep in ("opt-out", "crisis-opt-out"):
                self._insert(s, OptOut, number=number, at=at, words=words[:40])
            if keep == "opt-in":
                s.execute(delete(OptOut).where(OptOut.number == number))
            elif keep == "callback":
                entry = self._request(
                    s, kind="callback", channel="sms", number=number, language=note.language, at=at
                )
                self._close_missed(s, number, at, f"followed by a call-back request (#{entry})")
            elif keep in ("crisis", "crisis-opt-out") and number:
                entry = self._crisis_waiting(s, number)
                if entry is None:
                    # The words are not kept: the entry says a crisis reply went out, and when.
                    entry = self._request(
                        s,
                        kind="crisis-text",
                        channel="sms",
                        number=number,
                        language=note.language,
                        topic=note.topic if note.topic in ("overdose", "suicide") else None,
                        at=at,
                    )
            if key and unsent:
                owed = unsent.replace(ENTRY, str(entry or 0))
                s.execute(update(Delivery).where(Delivery.key == key[:120]).values(unsent=owed))
            self._events(s, at, number, [note])
            return True

    def _opt_out_at_once(
        self, at: datetime, key: str, number: str, note: Note, reply: str | None, words: str
    ) -> bool:
        """keep_text's opt-out on PostgreSQL: the delivery claimed with its reply, the opt-out
        and its event in one statement, committed by the server (waiting for the disk) before
        the reply: one round trip where BEGIN, three inserts and COMMIT took five. Nothing is
        stored, and False returned, when the delivery was claimed before."""
        values = {
            **self._event_rows(at, number, [note])[0],  # the event's `at` is the claim's
            "key": key[:120],
            "reply": reply,
            "number": number,
            "words": words[:40],
        }
        with self.one_statement() as connection:
            found = _opt_out_at_once(connection.dialect).run(connection, values)
        return bool(found and found[0])

    def _crisis_waiting(self, s: Connection, number: str) -> int | None:
        """The crisis text of this number that already waits, if any: one entry, not one a text."""
        waiting = select(Request.id).where(
            Request.kind == "crisis-text", Request.number == number, Request.handled_at.is_(None)
        )
        return s.scalar(waiting.limit(1))

    def _replies(self, number: str, since: datetime) -> Select[int]:
        """A count of the texts the line answered this number since `since`."""
        return (
            select(func.count())
            .select_from(Event)
            .where(
                Event.caller == self.caller(number),
                Event.channel == "sms",
                Event.detail == "reply",
                Event.at >= since,
            )
        )

    def _last_language_query(self, number: str) -> Select[str | None]:
        return (
            select(Event.language)
            .where(
                Event.caller == self.caller(number),
                Event.channel == "sms",
                Event.language.is_not(None),
            )
            .order_by(Event.at.desc(), Event.id.desc())
            .limit(1)
        )

    def replies_since(
        self, number: str, since: datetime, kind: str | None = None, said: str | None = None
    ) -> int:
        """How many texts the line answered this number since `since`.

        Only replies of one kind, if `kind` is given; only replies to the same normalised
        words, if `said` is given.
        """
        self._in_order(number)
        with self.session(reading=True) as s:
            query = self._replies(number, since)
            if kind:
                query = query.where(Event.kind == kind)
            if said is not None:
                query = query.where(Event.said == self.said(number, said))
            return s.execute(query).scalar_one()

    def last_language(self, number: str) -> str | None:
        """The language of the last text event from this number, or None if it never texted."""
        if not number:
            return None
        self._in_order(number)
        with self.session(reading=True) as s:
            return s.scalar(self._last_language_query(number))


OPT_OUT_COLUMNS = ("number", "at", "words")


@cache
def _opt_out_at_once(dialect: Dialect) -> Prepared:
    """The claim, the opt-out and its event as one PostgreSQL statement (see keep_text): the
    opt-out and the event are inserted only with a new claim, and it returns how many claims
    it made (1, or 0 for a delivery claimed before)."""
    claimed = (
        postgresql.insert(Delivery)
        .values(key=bindparam("key"), at=bindparam("at"), reply=bindparam("reply"))
        .on_conflict_do_nothing()
        .returning(Delivery.key)
        .cte("claimed")
    )
    new = exists(select(claimed.c.key))

    def row(table: type[Base], names: Sequence[str]) -> Select[Any]:
        columns = table.__table__.c
        return select(*(bindparam(name, type_=columns[name].type) for name in names)).where(new)

    opted = (
        postgresql.insert(OptOut)
        .from_select(OPT_OUT_COLUMNS, row(OptOut, OPT_OUT_COLUMNS))
        .on_conflict_do_nothing()
        .cte("opted")
    )
    noted = insert(Event).from_select(EVENT_COLUMNS, row(Event, EVENT_COLUMNS)).cte("noted")
    statement = select(func.count()).select_from(claimed).add_cte(opted, noted)
    return Prepared(statement, dialect)


@cache
def _recall_text(dialect: Dialect) -> Prepared:
    """What the line knows of a texter (see Store.recall_text), compiled for one engine."""
    return Prepared(_recall_text_query(), dialect)


def _recall_text_query() -> Select[Any]:
    """One query for what the line knows of a texter (see Store.recall_text).

    The three counts of the number's recent replies come from one pass over its events, and
    the console's line state from its one row, joined (all None before anyone set it): on
    PostgreSQL, a scalar subquery per count or column cost the server a third more than
    the rest of the read."""
    minute_ago: BindParameter[datetime] = bindparam("minute_ago")
    mine = (Event.caller == bindparam("caller"), Event.channel == "sms")
    last_language = (
        select(Event.language)
        .where(*mine, Event.language.is_not(None))
        .order_by(Event.at.desc(), Event.id.desc())
        .limit(1)
    )
    same = (Event.said == bindparam("said"), Event.at >= bindparam("window_start"))
    counts = (
        select(
            func.count().filter(Event.at >= minute_ago).label("replies"),
            func.count().filter(Event.at >= minute_ago, Event.kind == "wait").label("notices"),
            func.count().filter(*same).label("repeats"),
        )
        .where(*mine, Event.detail == "reply", Event.at >= bindparam("since"))
        .subquery("counts")  # an aggregate without GROUP BY: always one row
    )
    return select(
        select(Delivery.reply).where(Delivery.key == bindparam("key")).scalar_subquery(),
        select(func.count()).where(OptOut.number == bindparam("number")).scalar_subquery(),
        last_language.scalar_subquery(),
        counts.c.replies,
        counts.c.notices,
        counts.c.repeats,
        *ON_CALL_COLUMNS,  # in OnCall's order
    ).select_from(counts.outerjoin(LineState, LineState.id == 1))

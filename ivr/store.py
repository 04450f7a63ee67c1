"""What the line remembers, on SQLite or PostgreSQL: the only module that writes SQL."""

from __future__ import annotations

import hashlib
import hmac
import logging
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import cache
from typing import Any, Literal, cast

from sqlalchemy import (
    BindParameter,
    CursorResult,
    Result,
    Select,
    bindparam,
    delete,
    func,
    insert,
    select,
    text,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from .activity import Seen, Waited
from .engine import READING, engine_for
from .eventlog import Later, Pending
from .oncall import OnCall
from .privacy import caller_hash, last_four
from .tables import (
    Alert,
    AuditEntry,
    Base,
    CallBack,
    Delivery,
    Event,
    LineState,
    OptOut,
    Request,
    StaffAccount,
)

__all__ = [
    "Alert",
    "AuditEntry",
    "Base",
    "CallBack",
    "Event",
    "Leg",
    "Note",
    "Purged",
    "Recalled",
    "Request",
    "StaffAccount",
    "Store",
    "StoreError",
    "engine_for",
]
log = logging.getLogger(__name__)
ENTRY = "{entry}"  # in a staff alert's words: the id of the entry it is about, filled in here
KIND_WORDS = {
    "voicemail": "voicemail",
    "callback": "call-back request",
    "crisis-text": "crisis text",
}
DRIVER_FAULTS = (OverflowError, ValueError)  # raised by drivers for values they cannot bind


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


Keep = Literal["opt-out", "opt-in", "callback", "crisis"]


@dataclass(frozen=True)
class Recalled:
    """What the line knew of a number when its text arrived, read in one transaction."""

    reply: str | None = None  # the reply this delivery already got: it is a retry
    opted_out: bool = False
    language: str | None = None  # the language of its last text
    replies: int = 0  # replies in the last minute
    notices: int = 0  # "please wait" notices in the last minute
    repeats: int = 0  # replies to these same words in the repeat window
    state: OnCall | None = None  # the console's on-call and open/close (None: not readable)


@dataclass(frozen=True)
class RecalledCall:
    """What a call step needs to know, read in one transaction."""

    accepted: bool = False  # a staff member took this call with 1
    transfer_at: datetime | None = None  # when the line first put this call through
    state: OnCall | None = None


@dataclass(frozen=True)
class Purged:
    """How many rows of each kind a purge deleted."""

    requests: int
    events: int
    deliveries: int


@dataclass(frozen=True)
class Leg:
    """A call-back as the center, as its webhooks need it: the try and the person waiting.

    `number` is the caller's, for the <Dial> alone: it is never spoken or shown.
    """

    ref: str
    staff: str
    call_sid: str | None
    outcome: str | None
    request_id: int
    kind: str
    at: datetime
    language: str
    topic: str | None
    number: str


Placed = Literal["placed", "not-waiting", "in-progress"]


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


LATER_RETRY = (0.0, 0.25)  # seconds before each try at writing a batch of queued events


class Store:
    """The line's memory. Every method raises StoreError when the database fails."""

    def __init__(self, url: str, secret: str):
        self.engine = engine_for(url)
        self._reader = self.engine.execution_options(**{READING: True})  # same pool
        self._secret = secret
        self._lock = threading.Lock()
        self._failed_writes = 0
        self.later: Later[Note] = Later(self._write_later)  # analytics written after answers

    @contextmanager
    def session(self, reading: bool = False) -> Iterator[Session]:
        """A transaction that commits on success; any database or driver fault becomes StoreError.

        SQLAlchemy wraps what the driver calls its errors, but not everything a driver
        raises: SQLite's OverflowError for an integer past 64 bits, or a UnicodeEncodeError
        for a lone surrogate. The same input must fail the same way on both engines.
        `reading`: the transaction only reads (on SQLite it then waits for no writer).
        """
        bind = self._reader if reading else self.engine
        try:
            with Session(bind, expire_on_commit=False) as session, session.begin():
                yield session
        except (SQLAlchemyError, self.engine.dialect.loaded_dbapi.Error, *DRIVER_FAULTS) as exc:
            raise StoreError(type(exc).__name__) from exc

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

    def _insert(self, session: Session, table: type[Base], **values: object) -> bool:
        """Insert unless the primary key exists; True when this call inserted it."""
        statement = _insert_once(self.engine.dialect.name, table)
        return session.execute(statement, values).first() is not None

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

    # People waiting ---------------------------------------------------------

    def add_request(
        self,
        kind: str,
        channel: str,
        number: str,
        language: str,
        at: datetime,
        topic: str | None = None,
        recording_url: str | None = None,
        recording_seconds: int | None = None,
        once: str | None = None,
        reply: str | None = None,
        unsent: str | None = None,
        notes: Sequence[Note] = (),
    ) -> int | None:
        """Store a voicemail or call-back request, and the events `notes`; returns its id.

        With `once`, a delivery key, the request is stored only the first time that key is
        seen (None on a retry), in the same transaction as the claim, its `reply` and the
        `unsent` staff alert it owes, so a retry can never lose it nor store it twice.
        A waiting missed call of the same number is closed by it: one person, one entry. A
        staff alert's `{entry}` becomes the new entry's id.
        """
        with self.session() as s:
            if once and not self._claim(s, once, at, reply):
                return None
            self._events(s, at, number, notes)
            row = Request(
                kind=kind,
                channel=channel,
                number=number,
                language=language,
                at=at,
                topic=topic,
                recording_url=recording_url,
                recording_seconds=recording_seconds,
            )
            s.add(row)
            s.flush()
            self._close_missed(
                s, number, at, f"followed by a {KIND_WORDS.get(kind, kind)} (#{row.id})"
            )
            if once and unsent:
                owed = unsent.replace(ENTRY, str(row.id))
                s.execute(update(Delivery).where(Delivery.key == once[:120]).values(unsent=owed))
            return row.id

    def _close_missed(self, s: Session, number: str, at: datetime, note: str) -> None:
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

    def add_missed(
        self,
        number: str,
        language: str,
        at: datetime,
        topic: str | None,
        once: str,
        notes: Sequence[Note] = (),
    ) -> int | None:
        """Store a missed call (a transfer no one answered), with the step's events, unless
        this number already waits (one entry a person until handled) or this step was
        stored before (`once`). Returns its id, or None when none was added.
        """
        with self.session() as s:
            if not self._claim(s, once, at):
                return None
            self._events(s, at, number, notes)
            waiting = select(Request.id).where(
                Request.number == number, Request.handled_at.is_(None)
            )
            if s.execute(waiting.limit(1)).first() is not None:
                return None
            row = Request(
                kind="missed-call",
                channel="voice",
                number=number,
                language=language,
                at=at,
                topic=topic,
            )
            return self._added(s, row)

    def waiting(self) -> list[Request]:
        """Requests no one has handled yet, oldest first."""
        with self.session(reading=True) as s:
            query = select(Request).where(Request.handled_at.is_(None)).order_by(Request.at)
            return list(s.scalars(query))

    def handle(self, request_id: int, by: str, at: datetime, note: str | None = None) -> bool:
        """Mark a request handled by a staff member, with a short note, and audit it.

        False (and nothing changed) if it was handled already or is unknown.
        """
        with self.session() as s:
            query = (
                update(Request)
                .where(Request.id == request_id, Request.handled_at.is_(None))
                .values(handled_by=by[:80], handled_at=at, handled_note=note and note[:200])
            )
            if _changed(s.execute(query)) != 1:
                return False
            s.add(_audit(at, by, "handled", request_id))
            return True

    def handled(self, since: datetime, most: int = 200) -> list[Request]:
        """Requests handled since `since`, the most recently handled first."""
        with self.session(reading=True) as s:
            query = (
                select(Request)
                .where(Request.handled_at >= since)
                .order_by(Request.handled_at.desc(), Request.id.desc())
                .limit(most)
            )
            return list(s.scalars(query))

    # Idempotency ------------------------------------------------------------

    def _claim(
        self,
        s: Session,
        key: str,
        at: datetime,
        reply: str | None = None,
        unsent: str | None = None,
    ) -> bool:
        return self._insert(s, Delivery, key=key[:120], at=at, reply=reply, unsent=unsent)

    def claim(
        self, key: str, at: datetime, reply: str | None = None, unsent: str | None = None
    ) -> bool:
        """Mark a delivery handled, with its reply and a text it has to send; True the first time.

        A retry (False) changes nothing: it gets the first delivery's reply and text.
        """
        with self.session() as s:
            return self._claim(s, key, at, reply, unsent)

    def take_unsent(self, key: str, at: datetime, stale_before: datetime) -> str | None:
        """The text a delivery still has to send, now this request's to send (see `sent`).

        None when it was sent, when there is none, or when another request is sending it
        (unless that one began before `stale_before`: its worker died). The row is locked
        while it is read, so two requests can never both take it.
        """
        with self.session() as s:
            row = s.get(Delivery, key[:120], with_for_update=True)
            if row is None or row.unsent is None:
                return None
            if row.sending_since is not None and row.sending_since >= stale_before:
                return None
            row.sending_since = at
            return row.unsent

    def sent(self, key: str, ok: bool) -> None:
        """Note how sending a delivery's text went: sent, or failed (to be tried again)."""
        values = {"unsent": None, "sending_since": None} if ok else {"sending_since": None}
        with self.session() as s:
            s.execute(update(Delivery).where(Delivery.key == key[:120]).values(**values))

    def sending(self, key: str) -> str | None:
        """Where a delivery's text is: sent, sending or failed; None for no such delivery."""
        with self.session(reading=True) as s:
            row = s.get(Delivery, key[:120])
        if row is None:
            return None
        if row.unsent is None:
            return "sent"
        return "failed" if row.sending_since is None else "sending"

    def seen(self, key: str) -> bool:
        """True when a delivery with this key was claimed."""
        with self.session(reading=True) as s:
            return s.get(Delivery, key[:120]) is not None

    def reply_for(self, key: str) -> str | None:
        """The reply stored for a delivery, if any."""
        with self.session(reading=True) as s:
            row = s.get(Delivery, key[:120])
            return row.reply if row else None

    # Events -----------------------------------------------------------------

    def _events(self, s: Session, at: datetime, number: str | None, notes: Sequence[Note]) -> None:
        """Insert events as plain rows (no ORM bookkeeping: they are written, never read back)."""
        caller = self.caller(number)
        rows = [
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
        if rows:
            s.execute(insert(Event), rows)

    def note(
        self, at: datetime, number: str | None, notes: Sequence[Note], claim: str | None = None
    ) -> bool:
        """Store the events of one request in one transaction, or log and count the failure.

        With `claim`, a delivery key is claimed with them (kept the first time only): when
        a call was first put through to staff, for instance.
        """
        if not notes:
            return True
        try:
            with self.session() as s:
                if claim:
                    self._claim(s, claim, at)
                self._events(s, at, number, notes)
            return True
        except StoreError as exc:
            self._failed(notes[0], exc)
            return False

    def close(self) -> None:
        """Write the queued events, then close every pooled connection (the store stays usable)."""
        self.later.flush()
        self.engine.dispose()

    @property
    def failed_writes(self) -> int:
        """Writes that failed in this process, counting events queued before this was read."""
        self.later.flush()
        return self._failed_writes

    def note_later(self, at: datetime, number: str | None, notes: Sequence[Note]) -> None:
        """Queue a request's analytics events (nothing reads them back to answer anyone):
        they are written in a batch, in one transaction, moments after the answer."""
        self.later.add(at, number, notes)

    def _write_later(self, batch: list[Pending[Note]]) -> bool:
        """Write queued events in one transaction, trying twice (no one waits on this thread,
        and a batch holds many requests), or log and count the failure."""
        for wait in LATER_RETRY:
            time.sleep(wait)
            try:
                with self.session() as s:
                    for pending in batch:
                        self._events(s, pending.at, pending.number, pending.notes)
                return True
            except StoreError as exc:
                failure = exc
        self._failed(batch[0].notes[0], failure, lost=len(batch))
        return False

    def _failed(self, note: Note, exc: StoreError, lost: int = 1) -> None:
        """Count requests whose events were lost (`lost`: a batch holds many) and log it."""
        with self._lock:
            self._failed_writes += lost
        log.error("event not stored (%s %s): %s", note.channel, note.kind, exc)

    def add_event(
        self,
        at: datetime,
        channel: str,
        kind: str,
        number: str | None = None,
        language: str | None = None,
        topic: str | None = None,
        detail: str | None = None,
        said: str | None = None,
    ) -> None:
        """Store one event; the number, and the words if given, are kept only as keyed hashes."""
        note = Note(channel, kind, language, topic, detail, said)
        with self.session() as s:
            self._events(s, at, number, [note])

    def record(self, at: datetime, channel: str, kind: str, **fields: str | None) -> bool:
        """Store an event, or log and count the failure: reports must never break a call."""
        number = fields.pop("number", None)
        return self.note(at, number, [Note(channel, kind, **fields)])

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
        with self.session(reading=True) as s:
            found = s.execute(_recall_text(), values).one()
            state = _on_call(s.get(LineState, 1))
        reply, opted_out, language, replies, notices, repeats = found
        if key and reply is not None:
            return Recalled(reply=reply, state=state)
        return Recalled(None, bool(opted_out), language, replies, notices, repeats, state)

    def recall_call(self, call_sid: str) -> RecalledCall:
        """What a call step needs, in one read: whether staff took this call, when it was
        first put through, and the console's on-call and open/close."""
        keys = (f"voice:{call_sid}:accepted"[:120], f"voice:{call_sid}:transfer"[:120])
        with self.session(reading=True) as s:
            rows = {
                row.key: row.at for row in s.scalars(select(Delivery).where(Delivery.key.in_(keys)))
            }
            state = _on_call(s.get(LineState, 1))
        return RecalledCall(keys[0] in rows, rows.get(keys[1]), state)

    # On call and open now (the staff console; read by every call and text) ---------------

    def line_state(self) -> OnCall:
        """The console's on-call numbers and open/close override, as set."""
        with self.session(reading=True) as s:
            return _on_call(s.get(LineState, 1))

    def _state_row(self, s: Session) -> LineState:
        row = s.get(LineState, 1, with_for_update=True)
        if row is None:
            row = LineState(id=1)
            s.add(row)
        return row

    def set_on_call(
        self, staff_line: str, backup_line: str | None, alert: str | None, by: str, at: datetime
    ) -> None:
        """Set who is on call (all three numbers), and audit it with the numbers masked."""
        with self.session() as s:
            row = self._state_row(s)
            row.staff_line, row.backup_line, row.alert_number = staff_line, backup_line, alert
            row.on_call_by, row.on_call_at = by[:80], at
            note = (
                f"staff line {_masked(staff_line)}, backup line {_masked(backup_line)}, "
                f"alert phone {_masked(alert)}"
            )
            s.add(_audit(at, by, "on-call set", note=note))

    def clear_on_call(self, by: str, at: datetime) -> bool:
        """Go back to menus.yaml's on-call numbers; False when none were set."""
        with self.session() as s:
            row = self._state_row(s)
            if row.on_call_at is None:
                return False
            row.staff_line = row.backup_line = row.alert_number = row.on_call_by = None
            row.on_call_at = None
            s.add(_audit(at, by, "on-call cleared", note="back to menus.yaml"))
            return True

    def set_hours(self, state: str, reason: str, until: datetime, by: str, at: datetime) -> None:
        """Close the line, or open it, until `until`; audited with the reason."""
        with self.session() as s:
            row = self._state_row(s)
            row.hours_state, row.hours_reason, row.hours_until = state, reason[:120] or None, until
            row.hours_by, row.hours_at = by[:80], at
            what = "line closed" if state == "closed" else "line opened"
            note = f"until {until.astimezone(UTC):%Y-%m-%d %H:%M} UTC" + (
                f": {reason}" if reason else ""
            )
            s.add(_audit(at, by, what, note=note))

    def clear_hours(self, by: str, at: datetime) -> bool:
        """Back to the regular hours; False when no override was set."""
        with self.session() as s:
            row = self._state_row(s)
            if row.hours_state is None:
                return False
            row.hours_state = row.hours_reason = row.hours_by = None
            row.hours_until = row.hours_at = None
            s.add(_audit(at, by, "hours override cleared", note="back to the regular hours"))
            return True

    # Staff alerts and their delivery ------------------------------------------------------

    def add_alert(
        self,
        ref: str,
        at: datetime,
        body: str,
        sent_to: str,
        phone: str,
        message_sid: str | None,
        status: str,
        retry_of: int | None = None,
    ) -> None:
        """Keep one staff alert as sent (or not sent), to be followed by its status callback."""
        with self.session() as s:
            s.add(
                Alert(
                    ref=ref[:64],
                    at=at,
                    body=body,
                    sent_to=sent_to,
                    phone=phone[:20],
                    message_sid=message_sid and message_sid[:64],
                    status=status[:16],
                    status_at=at,
                    retry_of=retry_of,
                    retried=False,
                )
            )

    def alert_status(
        self, ref: str, status: str, at: datetime, error: str | None, retry: frozenset[str]
    ) -> Alert | None:
        """Record what Twilio says of an alert's delivery; a final state is never undone.

        Returns the alert when this status is one of `retry` and the alert is neither a retry
        nor retried yet: it is marked retried in the same transaction, so it is retried once
        (the caller sends the retry). None otherwise, and for an unknown reference.
        """
        with self.session() as s:
            row = s.scalar(select(Alert).where(Alert.ref == ref[:64]).with_for_update())
            if row is None:
                return None
            if row.status not in FINAL:
                row.status, row.status_at = status[:16], at
                row.error_code = error and error[:12]
            if status not in retry or row.retry_of is not None or row.retried:
                return None
            row.retried = True
            return row

    def alerts_not_delivered(self, since: datetime, most: int = 50) -> list[Alert]:
        """Alerts since `since` that Twilio could not deliver (or that were never sent),
        newest first, with every retry of them."""
        with self.session(reading=True) as s:
            query = (
                select(Alert)
                .where(Alert.at >= since, Alert.status.in_(NOT_DELIVERED))
                .order_by(Alert.at.desc(), Alert.id.desc())
                .limit(most)
            )
            return list(s.scalars(query))

    def alert_retries(self, alert_ids: Sequence[int]) -> dict[int, Alert]:
        """The retry of each of these alerts, by the id of the alert it retried."""
        if not alert_ids:
            return {}
        with self.session(reading=True) as s:
            query = select(Alert).where(Alert.retry_of.in_(list(alert_ids)))
            return {row.retry_of: row for row in s.scalars(query) if row.retry_of is not None}

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
        """
        with self.session() as s:
            if key and not self._claim(s, key, at, reply):
                return False
            entry: int | None = None
            if keep == "opt-out":
                self._insert(s, OptOut, number=number, at=at, words=words[:40])
            elif keep == "opt-in":
                s.execute(delete(OptOut).where(OptOut.number == number))
            elif keep == "callback":
                row = Request(
                    kind="callback", channel="sms", number=number, language=note.language, at=at
                )
                entry = self._added(s, row)
                self._close_missed(s, number, at, f"followed by a call-back request (#{entry})")
            elif keep == "crisis" and number:
                entry = self._crisis_waiting(s, number)
                if entry is None:
                    # The words are not kept: the entry says a crisis reply went out, and when.
                    row = Request(
                        kind="crisis-text",
                        channel="sms",
                        number=number,
                        language=note.language,
                        topic=note.topic if note.topic in ("overdose", "suicide") else None,
                        at=at,
                    )
                    entry = self._added(s, row)
            if key and unsent:
                owed = unsent.replace(ENTRY, str(entry or 0))
                s.execute(update(Delivery).where(Delivery.key == key[:120]).values(unsent=owed))
            self._events(s, at, number, [note])
            return True

    @staticmethod
    def _added(s: Session, row: Request) -> int:
        s.add(row)
        s.flush()
        return row.id

    def _crisis_waiting(self, s: Session, number: str) -> int | None:
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

    def activity(self, since: datetime, until: datetime) -> tuple[list[Seen], list[Waited]]:
        """The events and the people who waited between `since` and `until`, for the activity
        report: never a number (events keep only keyed hashes; requests give only times)."""
        self.later.flush()
        with self.session(reading=True) as s:
            events = s.execute(
                select(
                    Event.at, Event.channel, Event.kind, Event.topic, Event.detail, Event.caller
                ).where(Event.at >= since, Event.at < until)
            ).all()
            waited = s.execute(
                select(Request.at, Request.handled_at).where(
                    Request.at >= since, Request.at < until
                )
            ).all()
        return [Seen(*row) for row in events], [Waited(*row) for row in waited]

    def replies_since(
        self, number: str, since: datetime, kind: str | None = None, said: str | None = None
    ) -> int:
        """How many texts the line answered this number since `since`.

        Only replies of one kind, if `kind` is given; only replies to the same normalised
        words, if `said` is given.
        """
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
        with self.session(reading=True) as s:
            return s.scalar(self._last_language_query(number))

    def count(self, kind: str | None = None) -> int:
        """How many events (of one kind) are stored."""
        self.later.flush()
        with self.session(reading=True) as s:
            query = select(func.count()).select_from(Event)
            if kind:
                query = query.where(Event.kind == kind)
            return s.execute(query).scalar_one()

    # Staff accounts and the audit list (the staff console, /staff) -------------
    #
    # Accounts hold an argon2 hash made by ivr.accounts, never a password. Every change to
    # an account is written with its audit entry in the same transaction.

    def add_staff(
        self,
        email: str,
        role: str,
        password_hash: str,
        at: datetime,
        by: str,
        phone: str | None = None,
    ) -> bool:
        """Add a staff account; False (nothing changed) when the email has one already."""
        with self.session() as s:
            added = self._insert(
                s,
                StaffAccount,
                email=email,
                role=role,
                password_hash=password_hash,
                phone=phone,
                created_at=at,
                failed_logins=0,
            )
            if added:
                s.add(_audit(at, by, "staff-added", note=f"{email} as {role}"))
            return added

    def staff_member(self, email: str) -> StaffAccount | None:
        """The account of this (normalised) email, or None."""
        with self.session(reading=True) as s:
            return s.scalar(select(StaffAccount).where(StaffAccount.email == email))

    def staff_by_id(self, staff_id: int) -> StaffAccount | None:
        """The account with this id, or None (it was removed)."""
        with self.session(reading=True) as s:
            return s.get(StaffAccount, staff_id)

    def staff_members(self) -> list[StaffAccount]:
        """Every staff account, by email."""
        with self.session(reading=True) as s:
            return list(s.scalars(select(StaffAccount).order_by(StaffAccount.email)))

    def remove_staff(self, email: str, at: datetime, by: str) -> bool:
        """Delete a staff account (their audit entries stay); False when there is none."""
        with self.session() as s:
            removed = _changed(s.execute(delete(StaffAccount).where(StaffAccount.email == email)))
            if removed:
                s.add(_audit(at, by, "staff-removed", note=email))
            return removed == 1

    def set_password(self, email: str, password_hash: str, at: datetime, by: str) -> bool:
        """Give an account a new password hash and unlock it; False when there is no account.

        Sessions signed in with the old password end (the console checks the hash).
        """
        with self.session() as s:
            query = (
                update(StaffAccount)
                .where(StaffAccount.email == email)
                .values(password_hash=password_hash, failed_logins=0, locked_until=None)
            )
            if _changed(s.execute(query)) != 1:
                return False
            s.add(_audit(at, by, "password-changed", note=email))
            return True

    def set_staff_phone(self, email: str, phone: str | None, at: datetime, by: str) -> bool:
        """Set (or, with None, remove) the phone an account is rung at to call back as the
        center; audited with the number masked. False when there is no such account."""
        with self.session() as s:
            query = update(StaffAccount).where(StaffAccount.email == email).values(phone=phone)
            if _changed(s.execute(query)) != 1:
                return False
            s.add(_audit(at, by, "phone-changed", note=f"{email}: {_masked(phone)}"))
            return True

    def login_failed(
        self, staff_id: int, at: datetime, failures: int, lock_for: timedelta
    ) -> datetime | None:
        """Count a wrong password; at `failures` in a row, lock the account for `lock_for`.

        Returns when the lock ends, if this failure set one. The row is locked while it is
        counted, so tries in parallel are all counted.
        """
        with self.session() as s:
            account = s.get(StaffAccount, staff_id, with_for_update=True)
            if account is None:
                return None
            s.add(_audit(at, account.email, "login-failed"))
            account.failed_logins += 1
            if account.failed_logins < failures:
                return None
            account.failed_logins = 0
            account.locked_until = at + lock_for
            s.add(_audit(at, account.email, "locked", note=f"after {failures} wrong passwords"))
            return account.locked_until

    def login_succeeded(self, staff_id: int, at: datetime, rehashed: str | None = None) -> None:
        """Note a sign-in: the failure count starts again, and a `rehashed` password is kept."""
        with self.session() as s:
            account = s.get(StaffAccount, staff_id, with_for_update=True)
            if account is None:
                return
            account.failed_logins = 0
            account.locked_until = None
            if rehashed:
                account.password_hash = rehashed
            s.add(_audit(at, account.email, "login"))

    def audit(
        self,
        at: datetime,
        who: str,
        what: str,
        request_id: int | None = None,
        note: str | None = None,
    ) -> None:
        """Add an entry to the audit list."""
        with self.session() as s:
            s.add(_audit(at, who, what, request_id, note))

    def audit_entries(self, most: int = 200) -> list[AuditEntry]:
        """The audit list, newest first."""
        with self.session(reading=True) as s:
            query = select(AuditEntry).order_by(AuditEntry.at.desc(), AuditEntry.id.desc())
            return list(s.scalars(query.limit(most)))

    # Calling back as the center (the staff console places it, Twilio's webhooks follow it) --

    def start_callback(
        self, request_id: int, by: str, at: datetime, ref: str, active_since: datetime
    ) -> Placed:
        """Note a call-back `by` a counselor under the reference `ref`, and audit it.

        Not when the request is not waiting, nor while another call-back of it placed since
        `active_since` is still going on (two counselors never ring one person at once).
        The request row is locked while it is checked, so two clicks at once place one.
        """
        with self.session() as s:
            row = s.get(Request, request_id, with_for_update=True)
            if row is None or row.handled_at is not None:
                return "not-waiting"
            going = select(CallBack.id).where(
                CallBack.request_id == request_id,
                CallBack.ended_at.is_(None),
                CallBack.placed_at >= active_since,
            )
            if s.execute(going.limit(1)).first() is not None:
                return "in-progress"
            s.add(CallBack(request_id=request_id, ref=ref[:64], staff=by[:80], placed_at=at))
            s.add(_audit(at, by, "call-back placed", request_id))
            return "placed"

    def callback_placed(self, ref: str, call_sid: str) -> None:
        """Keep the id Twilio gave the counselor's leg, unless its first webhook already did."""
        with self.session() as s:
            query = update(CallBack).where(CallBack.ref == ref, CallBack.call_sid.is_(None))
            s.execute(query.values(call_sid=call_sid[:64]))

    def callback_leg(self, ref: str, call_sid: str, since: datetime | None) -> Leg | None:
        """The call-back `ref` names, if this call (`call_sid`) is its counselor's leg.

        None for an unknown reference, one placed before `since` (if given), one that has ended, or
        another call's id. The first webhook binds the call's id when the REST answer has
        not been kept yet.
        """
        with self.session() as s:
            attempt = s.scalar(select(CallBack).where(CallBack.ref == ref).with_for_update())
            if attempt is None or attempt.ended_at is not None:
                return None
            if since is not None and attempt.placed_at < since:
                return None
            if not call_sid or attempt.call_sid not in (None, call_sid):
                return None
            attempt.call_sid = call_sid[:64]
            row = s.get(Request, attempt.request_id)
            if row is None:
                return None
            return Leg(
                attempt.ref,
                attempt.staff,
                attempt.call_sid,
                attempt.outcome,
                row.id,
                row.kind,
                row.at,
                row.language,
                row.topic,
                row.number,
            )

    def callback_outcome(
        self,
        ref: str,
        at: datetime,
        outcome: str,
        seconds: int | None = None,
        ended: bool = False,
        note: str | None = None,
    ) -> bool:
        """Record how a call-back went, once (a retry changes nothing), and audit it.

        The first outcome stands: the dial's is more precise than the status callback that
        follows it. `ended` closes the try, so its reference opens nothing any more.
        True when this call recorded the outcome.
        """
        with self.session() as s:
            attempt = s.scalar(select(CallBack).where(CallBack.ref == ref).with_for_update())
            if attempt is None:
                return False
            if ended and attempt.ended_at is None:
                attempt.ended_at = at
            if attempt.outcome is not None:
                return False
            attempt.outcome, attempt.seconds = outcome[:24], seconds
            s.add(_audit(at, attempt.staff, "call-back ended", attempt.request_id, note or outcome))
            return True

    def callbacks(self, request_ids: Sequence[int]) -> dict[int, CallBack]:
        """The latest call-back of each of these requests, by request id."""
        if not request_ids:
            return {}
        with self.session(reading=True) as s:
            query = (
                select(CallBack)
                .where(CallBack.request_id.in_(list(request_ids)))
                .order_by(CallBack.placed_at, CallBack.id)
            )
            return {row.request_id: row for row in s.scalars(query)}

    def request(self, request_id: int) -> Request | None:
        """One voicemail or call-back request, or None."""
        with self.session(reading=True) as s:
            return s.get(Request, request_id)

    # Retention --------------------------------------------------------------

    def purge(self, before: datetime) -> Purged:
        """Delete handled requests, events and deliveries older than `before`."""
        self.later.flush()
        with self.session() as s:
            requests = _changed(
                s.execute(
                    delete(Request).where(Request.handled_at.is_not(None), Request.at < before)
                )
            )
            events = _changed(s.execute(delete(Event).where(Event.at < before)))
            deliveries = _changed(s.execute(delete(Delivery).where(Delivery.at < before)))
            s.execute(delete(Alert).where(Alert.at < before))
            waiting = select(Request.id).where(Request.handled_at.is_(None))
            s.execute(
                delete(CallBack).where(
                    CallBack.placed_at < before, CallBack.request_id.not_in(waiting)
                )
            )
        return Purged(requests, events, deliveries)

    def ping(self) -> bool:
        """True when the database answers."""
        try:
            with self.session() as s:
                s.execute(text("SELECT 1"))
            return True
        except StoreError:
            return False


# Statements the webhooks run on every request, built once (their values are bound at run time):
# building a SQLAlchemy statement costs more than running it.


@cache
def _insert_once(dialect: str, table: type[Base]) -> Any:
    """INSERT ... ON CONFLICT DO NOTHING RETURNING the key, for one table on one engine."""
    insert_for = postgresql.insert if dialect == "postgresql" else sqlite.insert
    key = table.__mapper__.primary_key[0]
    return insert_for(table).on_conflict_do_nothing().returning(key)


@cache
def _recall_text() -> Select[Any]:
    """One query for what the line knows of a texter (see Store.recall_text)."""
    minute_ago: BindParameter[datetime] = bindparam("minute_ago")
    since: BindParameter[datetime] = bindparam("since")
    mine = (Event.caller == bindparam("caller"), Event.channel == "sms")
    replies = select(func.count()).select_from(Event)
    replies = replies.where(*mine, Event.detail == "reply", Event.at >= since)
    last_language = (
        select(Event.language)
        .where(*mine, Event.language.is_not(None))
        .order_by(Event.at.desc(), Event.id.desc())
        .limit(1)
    )
    same = (Event.said == bindparam("said"), Event.at >= bindparam("window_start"))
    return select(
        select(Delivery.reply).where(Delivery.key == bindparam("key")).scalar_subquery(),
        select(func.count()).where(OptOut.number == bindparam("number")).scalar_subquery(),
        last_language.scalar_subquery(),
        replies.with_only_columns(func.count().filter(Event.at >= minute_ago)).scalar_subquery(),
        replies.with_only_columns(
            func.count().filter(Event.at >= minute_ago, Event.kind == "wait")
        ).scalar_subquery(),
        replies.with_only_columns(func.count().filter(*same)).scalar_subquery(),
    )


FINAL = frozenset({"delivered", "undelivered", "failed", "read", "canceled"})
NOT_DELIVERED = ("undelivered", "failed", "not-sent", "canceled")


def _masked(number: str | None) -> str:
    """A staff number as the audit list shows it: its last 4 digits."""
    return f"ending in {last_four(number)}" if number else "none"


def _on_call(row: LineState | None) -> OnCall:
    """The stored row as a value the core takes."""
    if row is None:
        return OnCall()
    return OnCall(
        row.staff_line,
        row.backup_line,
        row.alert_number,
        row.on_call_by,
        row.on_call_at,
        row.hours_state,
        row.hours_reason,
        row.hours_until,
        row.hours_by,
        row.hours_at,
    )

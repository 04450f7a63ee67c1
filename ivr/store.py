"""What the line remembers, on SQLite or PostgreSQL: the only module that writes SQL."""

from __future__ import annotations

import hashlib
import hmac
import logging
import threading
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
from .privacy import caller_hash
from .tables import AuditEntry, Base, CallBack, Delivery, Event, OptOut, Request, StaffAccount

__all__ = [
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


class Store:
    """The line's memory. Every method raises StoreError when the database fails."""

    def __init__(self, url: str, secret: str):
        self.engine = engine_for(url)
        self._reader = self.engine.execution_options(**{READING: True})  # same pool
        self._secret = secret
        self._lock = threading.Lock()
        self.failed_writes = 0

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
        """
        with self.session() as s:
            if once and not self._claim(s, once, at, reply, unsent):
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
            return row.id

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

    def note(self, at: datetime, number: str | None, notes: Sequence[Note]) -> bool:
        """Store the events of one request in one transaction, or log and count the failure."""
        if not notes:
            return True
        try:
            with self.session() as s:
                self._events(s, at, number, notes)
            return True
        except StoreError as exc:
            self._failed(notes[0], exc)
            return False

    def _failed(self, note: Note, exc: StoreError) -> None:
        with self._lock:
            self.failed_writes += 1
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
        reply, opted_out, language, replies, notices, repeats = found
        if key and reply is not None:
            return Recalled(reply=reply)
        return Recalled(None, bool(opted_out), language, replies, notices, repeats)

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
            if key and not self._claim(s, key, at, reply, unsent):
                return False
            if keep == "opt-out":
                self._insert(s, OptOut, number=number, at=at, words=words[:40])
            elif keep == "opt-in":
                s.execute(delete(OptOut).where(OptOut.number == number))
            elif keep == "callback":
                s.add(
                    Request(
                        kind="callback", channel="sms", number=number, language=note.language, at=at
                    )
                )
            elif keep == "crisis" and number and not self._crisis_waiting(s, number):
                # The words are not kept: the entry says a crisis reply went out, and when.
                s.add(
                    Request(
                        kind="crisis-text",
                        channel="sms",
                        number=number,
                        language=note.language,
                        topic=note.topic if note.topic in ("overdose", "suicide") else None,
                        at=at,
                    )
                )
            self._events(s, at, number, [note])
            return True

    def _crisis_waiting(self, s: Session, number: str) -> bool:
        """True when a crisis text of this number already waits: one entry, not one a text."""
        waiting = select(Request.id).where(
            Request.kind == "crisis-text", Request.number == number, Request.handled_at.is_(None)
        )
        return s.execute(waiting.limit(1)).first() is not None

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
        with self.session() as s:
            requests = _changed(
                s.execute(
                    delete(Request).where(Request.handled_at.is_not(None), Request.at < before)
                )
            )
            events = _changed(s.execute(delete(Event).where(Event.at < before)))
            deliveries = _changed(s.execute(delete(Delivery).where(Delivery.at < before)))
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

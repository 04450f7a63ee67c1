"""The line's tables, for SQLAlchemy and Alembic: opt-outs, people waiting, deliveries, events,
the staff console's accounts, audit list and call-backs as the center, who is on call and
whether the line is closed or open now (the console's override of menus.yaml), and the staff
alerts sent with how Twilio delivered them."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import Boolean, DateTime, Dialect, Index, Integer, String, Text, TypeDecorator
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class UTCDateTime(TypeDecorator[datetime]):
    """Aware UTC datetimes on both engines (SQLite keeps no offset of its own)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is not None:
            value = value.astimezone(UTC)
            return value.replace(tzinfo=None) if dialect.name == "sqlite" else value
        return None

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is not None and value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value


class Base(DeclarativeBase):
    pass


class OptOut(Base):
    """A number that asked for no more texts; kept until it opts back in (the law requires it)."""

    __tablename__ = "opt_outs"
    number: Mapped[str] = mapped_column(String(20), primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    words: Mapped[str] = mapped_column(String(40))


class Request(Base):
    """A person waiting for a counselor: a voicemail, a call-back request, a crisis text, or a
    missed call (a transfer no one answered, after which the caller left no message)."""

    __tablename__ = "requests"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    kind: Mapped[str] = mapped_column(
        String(12)
    )  # voicemail | callback | crisis-text | missed-call
    channel: Mapped[str] = mapped_column(String(8))  # voice | sms
    number: Mapped[str] = mapped_column(String(20))
    language: Mapped[str] = mapped_column(String(2))
    topic: Mapped[str | None] = mapped_column(String(40))
    recording_url: Mapped[str | None] = mapped_column(String(300))
    recording_seconds: Mapped[int | None] = mapped_column(Integer)
    at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    handled_by: Mapped[str | None] = mapped_column(String(80))
    handled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    handled_note: Mapped[str | None] = mapped_column(String(200))  # what the counselor did


class Delivery(Base):
    """A webhook already handled (MessageSid, or CallSid and step), the reply it got, and the
    text it still has to send (a staff alert, a topic for the caller) until that is sent."""

    __tablename__ = "deliveries"
    key: Mapped[str] = mapped_column(String(120), primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    reply: Mapped[str | None] = mapped_column(Text)
    unsent: Mapped[str | None] = mapped_column(Text)  # None once sent (or nothing to send)
    sending_since: Mapped[datetime | None] = mapped_column(UTCDateTime)  # None: no one sending


class Event(Base):
    """One thing that happened on the line, for the staff's reports; never a number or words."""

    __tablename__ = "events"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    channel: Mapped[str] = mapped_column(String(8))
    kind: Mapped[str] = mapped_column(String(24), index=True)
    caller: Mapped[str | None] = mapped_column(String(64))  # keyed hash of the number
    __table_args__ = (Index("ix_events_caller_at", "caller", "at"),)
    language: Mapped[str | None] = mapped_column(String(2))
    topic: Mapped[str | None] = mapped_column(String(40))
    detail: Mapped[str | None] = mapped_column(String(80))
    said: Mapped[str | None] = mapped_column(String(64))  # keyed hash of the normalised words


class StaffAccount(Base):
    """Someone who may sign in to the staff console: a counselor or an admin."""

    __tablename__ = "staff"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    email: Mapped[str] = mapped_column(String(80), unique=True, index=True)  # lower case
    role: Mapped[str] = mapped_column(String(12))  # counselor | admin
    password_hash: Mapped[str] = mapped_column(String(200))  # argon2id, never the password
    phone: Mapped[str | None] = mapped_column(String(20))  # E.164, for call-backs as the center
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    failed_logins: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    locked_until: Mapped[datetime | None] = mapped_column(UTCDateTime)


class AuditEntry(Base):
    """Who did what in the staff console, and when; never a caller's number or a password."""

    __tablename__ = "audit"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    who: Mapped[str] = mapped_column(String(80))  # a staff email, or the command line
    what: Mapped[str] = mapped_column(String(24))  # login, handled, staff-added ...
    request_id: Mapped[int | None] = mapped_column(Integer)  # no foreign key: requests are purged
    note: Mapped[str | None] = mapped_column(String(200))


class CallBack(Base):
    """One try at calling someone back as the center: Twilio rang a counselor's phone, and on
    their key press connected them to the person waiting. Never the caller's number: the
    request holds it."""

    __tablename__ = "callbacks"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    request_id: Mapped[int] = mapped_column(Integer, index=True)  # no foreign key, as audit
    ref: Mapped[str] = mapped_column(String(64), unique=True, index=True)  # in the webhook URLs
    staff: Mapped[str] = mapped_column(String(80))  # the counselor's email
    placed_at: Mapped[datetime] = mapped_column(UTCDateTime)
    call_sid: Mapped[str | None] = mapped_column(String(64))  # the counselor's leg
    outcome: Mapped[str | None] = mapped_column(String(24))  # None while it is going on
    seconds: Mapped[int | None] = mapped_column(Integer)  # how long the two were connected
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class LineState(Base):
    """The console's changes to menus.yaml's `center:`, in one row (id 1), read on every call.

    Who is on call (all three numbers, or none: menus.yaml's), and an admin's "closed now" or
    "open now" until a moment (or none: the regular hours). Who set each, and when.
    """

    __tablename__ = "line_state"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    staff_line: Mapped[str | None] = mapped_column(String(20))  # E.164; None: menus.yaml's
    backup_line: Mapped[str | None] = mapped_column(String(20))
    alert_number: Mapped[str | None] = mapped_column(String(20))
    on_call_by: Mapped[str | None] = mapped_column(String(80))
    on_call_at: Mapped[datetime | None] = mapped_column(UTCDateTime)  # None: menus.yaml's
    hours_state: Mapped[str | None] = mapped_column(String(8))  # open | closed | None
    hours_reason: Mapped[str | None] = mapped_column(String(120))  # for staff, never said
    hours_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    hours_by: Mapped[str | None] = mapped_column(String(80))
    hours_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class Alert(Base):
    """One staff alert texted to an on-call phone, and what Twilio said of its delivery.

    Its words never hold caller details; `ref` (random) names it in its status callback URL.
    """

    __tablename__ = "alerts"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    ref: Mapped[str] = mapped_column(String(64), unique=True, index=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    body: Mapped[str] = mapped_column(Text)
    sent_to: Mapped[str] = mapped_column(String(12))  # alert | backup: which on-call phone
    phone: Mapped[str] = mapped_column(String(20))  # a staff phone, shown masked
    message_sid: Mapped[str | None] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(16))  # not-sent | sent | delivered | ...
    status_at: Mapped[datetime] = mapped_column(UTCDateTime)
    error_code: Mapped[str | None] = mapped_column(String(12))
    retry_of: Mapped[int | None] = mapped_column(Integer)  # the alert this one retried
    retried: Mapped[bool] = mapped_column(Boolean, default=False, server_default="0")

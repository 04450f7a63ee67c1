"""Events (analytics, never a number), written now or in batches, read for reports; retention."""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, delete, func, select, text

from .activity import Seen, Waited
from .eventlog import Pending
from .store_base import Note, StoreBase, StoreError, _changed, _inserted
from .tables import Alert, CallBack, Delivery, Event, Request

log = logging.getLogger("ivr.store")  # the store's name, so searches of the logs still find it
# Seconds before each try at writing a batch of queued events: a database away for up to
# about three seconds loses none, and a batch gathered while it was away (with events from
# moments after it came back) is written when it is back.
LATER_RETRY = (0.0, 0.25, 1.0, 2.0)


@dataclass(frozen=True)
class Purged:
    """How many rows of each kind a purge deleted."""

    requests: int
    events: int
    deliveries: int


class EventStore(StoreBase):
    """Events, the failures to write them, and the purge of every old record."""

    # Events -----------------------------------------------------------------

    def note(
        self, at: datetime, number: str | None, notes: Sequence[Note], claim: str | None = None
    ) -> bool:
        """Store the events of one request in one transaction, or log and count the failure.

        With `claim`, a delivery key is claimed with them (kept the first time only): when
        a call was first put through to staff, for instance.
        """
        if not notes:
            return True
        self._in_order(number)
        try:
            with self.session(light=not claim) as s:
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
        self._light.dispose()  # its own pool on PostgreSQL

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
        """Write queued events (and the deliveries they claim) in one transaction, trying again
        (no one waits on this thread, and a batch holds many requests), or log and count the
        failure. A delivery claimed before (a retry queued twice) adds no second event."""
        for wait in LATER_RETRY:
            time.sleep(wait)
            try:
                with self.writing(light=True) as connection:
                    claimed = self._claim_all(connection, batch)
                    rows: list[dict[str, object]] = []
                    for p in batch:
                        if p.claim and not claimed.pop(p.claim[0][:120], False):
                            continue  # claimed before, or earlier in this batch: kept once
                        rows += self._event_rows(p.at, p.number, p.notes)
                    self._insert_events(connection, rows)  # one statement for the batch
                return True
            except StoreError as exc:
                failure = exc
        self._failed(batch[0].notes[0], failure, lost=len(batch))
        return False

    @staticmethod
    def _claim_all(connection: Connection, batch: list[Pending[Note]]) -> dict[str, bool]:
        """Claim every delivery the batch holds in one statement (a claim a round trip cost
        PostgreSQL more than the rest of the batch); each key this claimed, mapped to True."""
        claims = [
            {"key": p.claim[0][:120], "at": p.at, "reply": p.claim[1]} for p in batch if p.claim
        ]
        if not claims:
            return {}
        # Run with a list of rows, SQLAlchemy sends them as one statement (insertmanyvalues).
        statement = _inserted(connection.dialect, Delivery)
        return dict.fromkeys(connection.execute(statement, claims).scalars(), True)

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
        self._in_order(number)
        with self.session() as s:
            self._events(s, at, number, [note])

    def record(self, at: datetime, channel: str, kind: str, **fields: str | None) -> bool:
        """Store an event, or log and count the failure: reports must never break a call."""
        number = fields.pop("number", None)
        return self.note(at, number, [Note(channel, kind, **fields)])

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

    def count(self, kind: str | None = None) -> int:
        """How many events (of one kind) are stored."""
        self.later.flush()
        with self.session(reading=True) as s:
            query = select(func.count()).select_from(Event)
            if kind:
                query = query.where(Event.kind == kind)
            return s.execute(query).scalar_one()

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
        """True when the database answers. A pooled connection the server dropped (a restart
        since this worker last wrote) is not an answer: the ping is tried on a new one."""
        try:
            self._again_if_dropped(self._select_one)
            return True
        except StoreError:
            return False

    def _select_one(self) -> None:
        with self.session() as s:
            s.execute(text("SELECT 1"))

"""The people waiting: voicemails, call-back requests and missed calls, and their handling."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import select, update

from .store_base import ENTRY, Note, StoreBase, _audit, _changed
from .tables import Delivery, Request

KIND_WORDS = {
    "voicemail": "voicemail",
    "callback": "call-back request",
    "crisis-text": "crisis text",
}


class QueueStore(StoreBase):
    """Requests waiting for the staff, and what was handled."""

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

    def request(self, request_id: int) -> Request | None:
        """One voicemail or call-back request, or None."""
        with self.session(reading=True) as s:
            return s.get(Request, request_id)

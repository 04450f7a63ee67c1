"""Calling back as the center: the staff console places it, Twilio's webhooks follow it."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from sqlalchemy import select, update

from .store_base import StoreBase, _audit
from .tables import CallBack, Request


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


class CallBackStore(StoreBase):
    """Call-backs placed by counselors, and how each went."""

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

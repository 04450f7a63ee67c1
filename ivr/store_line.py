"""The line's state: on call and open now (set in the staff console), and staff alerts."""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from .oncall import OnCall
from .store_base import StoreBase, _audit, _line_state, _line_state_once, _masked
from .tables import Alert, Delivery, LineState


@dataclass(frozen=True)
class RecalledCall:
    """What a call step needs to know, read in one transaction."""

    accepted: bool = False  # a staff member took this call with 1
    transfer_at: datetime | None = None  # when the line first put this call through
    state: OnCall | None = None


FINAL = frozenset({"delivered", "undelivered", "failed", "read", "canceled"})
NOT_DELIVERED = ("undelivered", "failed", "not-sent", "canceled")


class LineStore(StoreBase):
    """What a call step reads, on call and open now, and the staff alerts sent."""

    def recall_call(self, call_sid: str) -> RecalledCall:
        """What a call step needs, in one read: whether staff took this call, when it was
        first put through, and the console's on-call and open/close."""
        keys = (f"voice:{call_sid}:accepted"[:120], f"voice:{call_sid}:transfer"[:120])
        with self.session(reading=True) as s:
            rows = {
                row.key: row.at for row in s.scalars(select(Delivery).where(Delivery.key.in_(keys)))
            }
            state = _line_state(s)
        return RecalledCall(keys[0] in rows, rows.get(keys[1]), state)

    # On call and open now (the staff console; read by every call and text) ---------------

    def line_state(self, most_age: float = 0) -> OnCall:
        """The console's on-call numbers and open/close override, as set.

        `most_age`: seconds a state this worker read before may stand in for a new read
        (every call step reads it; the console changes it a few times a day). A change made
        through this Store is seen at once; one made by another worker, within `most_age`.
        """
        kept = self._state_kept
        if kept is not None and most_age > 0 and time.monotonic() - kept[0] < most_age:
            return kept[1]
        found = self._read(_line_state_once(self.engine.dialect), {})
        state = OnCall(*found) if found else OnCall()
        self._state_kept = (time.monotonic(), state)
        return state

    def _state_row(self, s: Session) -> LineState:
        self._state_kept = None  # changing it: the next read goes to the database
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

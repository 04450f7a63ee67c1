"""On call and open now: the staff console's changes to menus.yaml's `center:`, as values.

Pure: no Flask, no database. The webhooks read the one stored row (`OnCall`) once per
request and ask `effective_line` for the line as it stands: menus.yaml's center with the
on-call numbers an admin set and an admin's "closed now" or "open now" until a moment. The
call and text cores then decide as always, from that line. menus.yaml stays the default:
with nothing set, the line is exactly the loaded one.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, fields
from datetime import datetime, timedelta

from . import schedule
from .menus import Line
from .schedule import OnCallCenter, Override

LONGEST = timedelta(days=14)  # an override ends within this: the line is never left closed
REASON_LENGTH = 120  # line_state.hours_reason


@dataclass(frozen=True)
class OnCall:
    """What an admin set in the console; None fields mean menus.yaml's (or nothing) holds."""

    staff_line: str | None = None  # with on_call_at: the console's on-call numbers hold
    backup_line: str | None = None
    alert_number: str | None = None
    on_call_by: str | None = None
    on_call_at: datetime | None = None
    hours_state: str | None = None  # open | closed
    hours_reason: str | None = None
    hours_until: datetime | None = None
    hours_by: str | None = None
    hours_at: datetime | None = None

    @property
    def numbers_set(self) -> bool:
        """True when an admin set the on-call numbers (all three hold, a None being none)."""
        return self.on_call_at is not None and self.staff_line is not None

    def override(self) -> Override | None:
        """The admin's open or closed override, as set (it may have ended since)."""
        if self.hours_state not in ("open", "closed") or self.hours_until is None:
            return None
        return Override(self.hours_state == "open", self.hours_until)

    def override_at(self, now: datetime) -> Override | None:
        """The override in force at `now`, or None."""
        override = self.override()
        return override if override is not None and now < override.until else None


NOTHING_SET = OnCall()


def effective_center(line: Line, state: OnCall | None) -> OnCallCenter:
    """menus.yaml's center with the console's on-call numbers and override applied."""
    center = line.spec.center
    values = {name: getattr(center, name) for name in type(center).model_fields}
    if state is not None and state.numbers_set:
        values.update(
            staff_line=state.staff_line,
            backup_line=state.backup_line,
            alert_number=state.alert_number,
        )
    override = state.override() if state is not None else None
    return OnCallCenter.model_construct(**values, override=override)


MOST_LINES = 32  # distinct states kept per line; an admin changes them a few times a day
_lock = threading.Lock()
_KEPT = "_with_state"  # where a loaded line keeps its copies, by state


def effective_line(line: Line, state: OnCall | None) -> Line:
    """The line as it stands for one request: the loaded line when nothing is set, else a
    copy whose center carries the console's changes.

    The copy shares everything built from the menu (keyword indexes, the crisis phrases,
    the models: they never depend on the center) and the loaded line keeps it, per state,
    so a call step builds nothing.
    """
    if state is None or state == NOTHING_SET:
        return line
    with _lock:
        kept: dict[OnCall, Line] = vars(line).setdefault(_KEPT, {})
        found = kept.get(state)
    if found is not None:
        return found
    spec = line.spec.model_copy(update={"center": effective_center(line, state)})
    changed = Line(spec, line.content, line.path, line.warnings)
    built = {k: v for k, v in vars(line).items() if k not in _FIELDS and k != _KEPT}
    vars(changed).update(built)  # cached properties of the menu, shared
    with _lock:
        if len(kept) >= MOST_LINES:
            kept.clear()
        kept[state] = changed
    return changed


_FIELDS = frozenset(f.name for f in fields(Line))


# What an admin may set, checked --------------------------------------------------------


class OnCallError(ValueError):
    """An override or on-call change the console must refuse, in words for the admin."""


def until_choices(line: Line, now: datetime) -> dict[str, datetime | None]:
    """When an override may end besides a chosen time: closed until the regular hours resume
    after the current (or next) opening period, or open until the regular hours begin."""
    center = line.spec.center
    period_ends = schedule.regular_closing(center, now)
    resume = schedule.regular_opening(center, period_ends) if period_ends else None
    return {
        "closed": resume,
        "open": schedule.regular_opening(center, now),
    }


def check_override(state: str, until: datetime | None, reason: str, now: datetime) -> None:
    """Raise OnCallError unless the override ends after now, within LONGEST, with a reason
    when it closes the line."""
    if state not in ("open", "closed"):
        raise OnCallError("Choose to close the line or to open it.")
    if until is None:
        raise OnCallError("Choose when it ends: the line is never left closed or open by mistake.")
    if until <= now:
        raise OnCallError("The end you chose has passed. Choose a time still to come.")
    if until > now + LONGEST:
        raise OnCallError(f"An override lasts {LONGEST.days} days at most. Choose an earlier end.")
    if state == "closed" and not reason.strip():
        raise OnCallError("Say why the line is closed (weather, training): staff will see it.")
    if len(reason) > REASON_LENGTH:
        raise OnCallError(f"The reason has {REASON_LENGTH} characters at most.")


# What the console shows -----------------------------------------------------------------


@dataclass(frozen=True)
class Standing:
    """The line as it stands at a moment, for the console: open or not and why, and who is
    on call (whole numbers: a page shows them masked, except to an admin editing them)."""

    open: bool
    override: Override | None  # in force now
    reason: str | None
    by: str | None  # who set the override
    at: datetime | None
    staff_line: str
    backup_line: str | None
    alert_number: str | None
    numbers_by: str | None  # None: menus.yaml's
    numbers_at: datetime | None


def standing(line: Line, state: OnCall | None, now: datetime) -> Standing:
    """How the line stands at `now` with the console's changes (`state`) applied."""
    center = effective_center(line, state)
    override = schedule.override_at(center, now)
    state = state or NOTHING_SET
    return Standing(
        open=schedule.is_open(center, now),
        override=override,
        reason=state.hours_reason if override else None,
        by=state.hours_by if override else None,
        at=state.hours_at if override else None,
        staff_line=center.staff_line,
        backup_line=center.backup_line,
        alert_number=center.alert_number,
        numbers_by=state.on_call_by if state.numbers_set else None,
        numbers_at=state.on_call_at if state.numbers_set else None,
    )
